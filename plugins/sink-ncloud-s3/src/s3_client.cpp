#include "s3_client.hpp"

#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>
#include <cstdio>

namespace backhaul::s3 {
namespace {

http::ClientOptions client_options(const S3Config& config, std::function<bool()> cancelled) {
    http::ClientOptions options;
    options.connect_timeout = config.connect_timeout;
    options.request_timeout = config.request_timeout;
    // A transfer that moves nothing for a minute is stuck, however long the request is allowed to take.
    options.stall_timeout = std::chrono::milliseconds(60'000);
    if (config.request_timeout.count() > 0 && config.request_timeout < options.stall_timeout)
        options.stall_timeout = config.request_timeout;
    options.ca_file = config.ca_file;
    options.user_agent = "backhaul-sink-ncloud-s3/0.1";
    options.cancelled = std::move(cancelled);
    return options;
}

std::string describe(const http::TransportError& error) {
    switch (error.kind) {
        case http::TransportError::Kind::timeout:
            return "timed out: " + error.message;
        case http::TransportError::Kind::connect:
            return "cannot connect: " + error.message;
        case http::TransportError::Kind::transfer:
            return "connection broken: " + error.message;
        case http::TransportError::Kind::tls:
            return "TLS failure: " + error.message;
        default:
            return error.message;
    }
}

std::string seconds(std::chrono::milliseconds delay) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(delay.count()) / 1000.0);
    return text;
}

}  // namespace

S3Client::S3Client(const S3Config& config, Host host, std::function<bool()> stop, bool ignore_cancellation)
    : config_(config),
      host_(host),
      stop_(std::move(stop)),
      ignore_cancellation_(ignore_cancellation),
      http_(client_options(config, [this] { return cancelled(); })) {
    retry_.max_retries = config.max_retries;
}

bool S3Client::cancelled() const { return (!ignore_cancellation_ && host_.cancelled()) || (stop_ && stop_()); }

http::Request S3Client::build(const S3Request& request, const std::string& content_md5,
                              const std::string& payload_hash) {
    http::Url target = config_.endpoint;
    std::string path = config_.endpoint.path;
    if (config_.virtual_addressing) {
        target.host = config_.bucket + "." + target.host;
    } else {
        path += "/" + aws::uri_encode_path(config_.bucket);
    }
    // Keys are encoded once, '/' kept, and never normalised: "a//b/../c" is a key, not a path to simplify.
    if (!request.key.empty() || config_.virtual_addressing) path += "/" + aws::uri_encode_path(request.key);

    std::string date = aws::amz_date(std::chrono::system_clock::now());
    aws::SignableRequest signable;
    signable.method = request.method;
    signable.path = path;
    signable.query = request.query;
    signable.payload_sha256 = payload_hash;
    signable.headers = {
        {"host", http::host_header(target)}, {"x-amz-date", date}, {"x-amz-content-sha256", payload_hash}};
    if (!content_md5.empty()) signable.headers.emplace_back("content-md5", content_md5);
    // Asked per attempt: a retry after the credentials were renewed signs with the new ones.
    const aws::Credentials credentials = config_.credentials->get([this] { return cancelled(); });
    session_token_ = credentials.session_token;
    if (!credentials.session_token.empty())
        signable.headers.emplace_back("x-amz-security-token", credentials.session_token);
    for (const auto& header : request.headers) signable.headers.push_back(header);
    aws::Signature signature = aws::sign(signable, credentials, {config_.region, "s3"}, date);

    http::Request out;
    out.method = request.method;
    std::string query = aws::canonical_query_string(request.query);
    out.url = target.scheme + "://" + http::host_header(target) + path + (query.empty() ? "" : "?" + query);
    for (const auto& [name, value] : signable.headers)
        if (name != "host") out.headers.emplace_back(name, value);
    out.headers.emplace_back("authorization", signature.authorization);
    out.body = request.body;
    out.max_body_bytes = request.max_body_bytes;
    out.body_buffer = request.body_buffer;
    return out;
}

http::Response S3Client::execute(const S3Request& request, const std::string& operation) {
    bool has_body = !request.body.empty() || request.method == "PUT" || request.method == "POST";
    std::string payload_hash =
        request.payload_sha256.empty() ? crypto::hex(crypto::sha256(request.body)) : request.payload_sha256;
    std::string content_md5 = request.content_md5;
    if (content_md5.empty() && has_body) content_md5 = crypto::base64(crypto::md5(request.body));

    http::Response response;
    std::optional<S3Error> last_error;
    std::string last_problem;
    http::RetryOutcome outcome = retry_.run(
        [&](int attempt) {
            attempts_ = attempt + 1;
            // The memory of an attempt the server answered with an error is this one's.
            if (request.body_buffer && response.body.capacity() > request.body_buffer->capacity())
                *request.body_buffer = std::move(response.body);
            response = http::Response{};
            http::Result result = http_.perform(build(request, content_md5, payload_hash));
            last_error.reset();
            if (result.error) {
                // And that of one that broke off is the next one's, or the caller's if none follows.
                if (request.body_buffer) *request.body_buffer = std::move(result.response.body);
                if (result.error->kind == http::TransportError::Kind::cancelled) return http::Attempt::finished;
                last_problem = describe(*result.error);
                if (!http::is_retryable(result)) return http::Attempt::finished;
                return http::Attempt::retry;
            }
            response = std::move(result.response);
            if (response.status >= 200 && response.status < 300) return http::Attempt::finished;
            // Swift echoes the canonical request, token header included, in a SignatureDoesNotMatch body: it must
            // not reach the debug detail. The host scrubs the options' secrets, but not a token from elsewhere.
            if (session_token_.size() >= 4)
                for (size_t at = response.body.find(session_token_); at != std::string::npos;
                     at = response.body.find(session_token_, at))
                    response.body.replace(at, session_token_.size(), "<redacted>");
            last_error = make_error(operation, response, config_.region, config_.credentials->known_source());
            last_problem = last_error->what();
            return last_error->status() == Status::retryable ? http::Attempt::retry : http::Attempt::finished;
        },
        [this] { return cancelled(); },
        [&](int retry, std::chrono::milliseconds delay) {
            host_.warn(operation + ": " + last_problem + "; retry " + std::to_string(retry) + " of " +
                       std::to_string(retry_.max_retries) + " in " + seconds(delay));
        });
    // A request the server answered with success took effect (an upload exists, an object was written): its caller
    // must see the answer to clean up after it, even if the run was cancelled meanwhile.
    const bool succeeded = response.status >= 200 && response.status < 300 && !last_error;
    if (outcome == http::RetryOutcome::cancelled || (cancelled() && !succeeded))
        throw Error(Status::cancelled, "cancelled");
    if (last_error) throw *last_error;
    if (response.status == 0) {
        std::string tries = outcome == http::RetryOutcome::exhausted
                                ? " (after " + std::to_string(retry_.max_retries + 1) + " attempts)"
                                : "";
        throw Error(outcome == http::RetryOutcome::exhausted ? Status::retryable : Status::fatal,
                    operation + " failed: " + last_problem + tries);
    }
    return response;
}

}  // namespace backhaul::s3
