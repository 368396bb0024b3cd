#include "secret_manager_client.hpp"

#include <algorithm>
#include <backhaul/support/http/retry_policy.hpp>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

#include "signature_v2.hpp"

namespace backhaul::ncloud {
namespace {

// A GetSecretValue answer is a few KiB; anything far larger is not one and is not worth holding.
constexpr size_t kMaxBodyBytes = 1 << 20;

// Empty ids are the limits' to report.
bool valid_secret_id(std::string_view id) {
    return std::all_of(id.begin(), id.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string status_text(long status, const std::optional<ErrorEnvelope>& envelope) {
    std::string text = "HTTP " + std::to_string(status);
    if (envelope && !envelope->code.empty()) text += ", " + envelope->code;
    if (envelope && !envelope->message.empty()) text += " " + envelope->message;
    return text;
}

std::string attempts_text(int attempts) { return attempts == 1 ? "1 attempt" : std::to_string(attempts) + " attempts"; }

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

void SecretManagerConfig::validate(const Options& options, Problems& problems) {
    if (options.known("endpoint"))
        if (auto problem = http::http_url_problem(options.string("endpoint"), options.boolean("insecure_http")))
            problems.add("endpoint", *problem);
    if (options.known("secret_id") && !valid_secret_id(options.string("secret_id")))
        problems.add("secret_id", "is not a Secret Manager secret id (letters, digits, '-', '_', '.')");
}

SecretManagerConfig SecretManagerConfig::from_options(const Options& options) {
    SecretManagerConfig config;
    config.endpoint_text = options.string("endpoint");
    config.endpoint = *http::parse_url(config.endpoint_text);
    while (!config.endpoint.path.empty() && config.endpoint.path.back() == '/') config.endpoint.path.pop_back();
    config.access_key = options.string("access_key");
    std::string secret_key = options.string("secret_key");
    config.secret_key.assign(secret_key.data(), secret_key.size());
    crypto::wipe(secret_key);
    config.secret_id = options.string("secret_id");
    config.stage = options.string("stage");
    config.timeout = options.duration("timeout");
    config.max_retries = static_cast<int>(options.integer("max_retries"));
    if (options.has("ca_file")) config.ca_file = options.string("ca_file");
    return config;
}

std::string SecretManagerConfig::request_target() const {
    return endpoint.path + "/api/v1/secrets/" + secret_id + "/values";
}

std::optional<ErrorEnvelope> parse_error_envelope(std::string_view body) {
    nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    auto error = parsed.find("error");
    if (error == parsed.end() || !error->is_object()) return std::nullopt;
    auto text = [&](const char* name) {
        auto field = error->find(name);
        return field != error->end() && field->is_string() ? field->get<std::string>() : std::string();
    };
    return ErrorEnvelope{text("errorCode"), text("message"), text("details")};
}

std::optional<std::chrono::seconds> clock_skew(const http::Response& response,
                                               std::chrono::system_clock::time_point local_now) {
    std::optional<std::string> date = response.header("date");
    if (!date) return std::nullopt;
    std::tm tm{};
    const char* end = strptime(date->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return std::nullopt;
    auto server = std::chrono::system_clock::from_time_t(timegm(&tm));
    return std::chrono::duration_cast<std::chrono::seconds>(server - local_now);
}

Error error_for_status(const SecretManagerConfig& config, long status, std::string_view body,
                       std::optional<std::chrono::seconds> skew, int attempts) {
    std::optional<ErrorEnvelope> envelope = parse_error_envelope(body);
    std::string what = status_text(status, envelope);
    std::string detail = envelope ? envelope->details : std::string();
    const std::string& id = config.secret_id;
    if (status == 401) {
        // The gateway answers the same 401 for a bad signature, an unknown key and a stale timestamp; only the clock
        // can be told apart, from the Date of its answer.
        if (skew && std::chrono::abs(*skew) >= std::chrono::minutes(4)) {
            int64_t seconds = skew->count();
            return Error(Status::fatal,
                         "Secret Manager rejected the request (" + what +
                             "): likely clock skew: this host's clock is " + std::to_string(std::abs(seconds)) + " s " +
                             (seconds > 0 ? "behind" : "ahead of") +
                             " the server's and the API gateway allows 5 minutes; sync it (NTP)",
                         detail);
        }
        return Error(Status::fatal,
                     "Secret Manager rejected the request (" + what +
                         "): likely the access key is unknown or secret_key does not belong to it (signature mismatch)",
                     detail);
    }
    if (status == 403)
        return Error(Status::fatal,
                     "Secret Manager denied access to secret '" + id + "' (" + what +
                         "): the access key may not read this secret",
                     detail);
    if (status == 404)
        return Error(Status::fatal,
                     "secret '" + id + "' not found at " + config.endpoint_text + " (" + what +
                         "): check secret_id and the endpoint's region",
                     detail);
    if (status == 422)
        return Error(Status::fatal, "secret '" + id + "' is not enabled (" + what + "): enable it in Secret Manager",
                     detail);
    if (status >= 500)
        return Error(
            Status::retryable,
            "Secret Manager failed (" + what + ") after " + attempts_text(attempts) + " for secret '" + id + "'",
            detail);
    return Error(Status::fatal, "Secret Manager refused the request for secret '" + id + "' (" + what + ")", detail);
}

SecretManagerClient::SecretManagerClient(const SecretManagerConfig& config, Host host) : config_(config), host_(host) {}

crypto::SecretString SecretManagerClient::get_secret_value() {
    http::ClientOptions client_options;
    client_options.connect_timeout = std::min(config_.timeout, std::chrono::milliseconds(10'000));
    client_options.request_timeout = config_.timeout;
    client_options.ca_file = config_.ca_file;
    client_options.cancelled = [host = host_] { return host.cancelled(); };
    http::Client client(client_options);

    const std::string target = config_.request_target();
    http::Request request;
    request.method = "GET";
    request.url = config_.endpoint.scheme + "://" + http::host_header(config_.endpoint) + target;

    crypto::SecretString body;
    bool too_large = false;
    request.on_body = [&](std::span<const uint8_t> piece) {
        if (body.size() + piece.size() > kMaxBodyBytes) {
            too_large = true;
            return false;
        }
        body.append(reinterpret_cast<const char*>(piece.data()), piece.size());
        return true;
    };

    http::Result result;
    int attempts = 0;
    http::RetryPolicy policy;
    policy.max_retries = config_.max_retries;
    http::RetryOutcome outcome = policy.run(
        [&](int) {
            ++attempts;
            crypto::wipe(body);
            request.headers = signed_headers("GET", target, now_ms(), config_.access_key,
                                             std::string_view(config_.secret_key.data(), config_.secret_key.size()));
            request.headers.emplace_back("Accept", "application/json");
            result = client.perform(request);
            if (!result.ok()) {
                if (result.error->kind == http::TransportError::Kind::aborted && too_large)
                    return http::Attempt::finished;
                return http::is_retryable(result) ? http::Attempt::retry : http::Attempt::finished;
            }
            long status = result.response.status;
            return status >= 500 && status != 501 ? http::Attempt::retry : http::Attempt::finished;
        },
        [&] { return host_.cancelled(); },
        [&](int retry, std::chrono::milliseconds delay) {
            std::string what = result.ok() ? "HTTP " + std::to_string(result.response.status) : result.error->message;
            host_.warn("Secret Manager: " + what + "; retry " + std::to_string(retry) + " of " +
                       std::to_string(config_.max_retries) + " in " + std::to_string(delay.count()) + " ms");
        });

    if (outcome == http::RetryOutcome::cancelled ||
        (!result.ok() && result.error->kind == http::TransportError::Kind::cancelled))
        throw Error(Status::cancelled, "cancelled");
    if (!result.ok()) {
        if (too_large)
            throw Error(Status::fatal, "Secret Manager's answer for secret '" + config_.secret_id + "' exceeds " +
                                           std::to_string(kMaxBodyBytes) + " bytes");
        const http::TransportError& error = *result.error;
        if (error.kind == http::TransportError::Kind::tls)
            throw Error(Status::fatal,
                        "TLS failure talking to Secret Manager at " + config_.endpoint_text + ": " + error.message);
        throw Error(outcome == http::RetryOutcome::exhausted ? Status::retryable : Status::fatal,
                    "cannot reach Secret Manager at " + config_.endpoint_text + ": " + error.message + " (after " +
                        attempts_text(attempts) + ")");
    }
    long status = result.response.status;
    if (status != 200) {
        std::string error_body(body.data(), body.size());
        Error error = error_for_status(config_, status, error_body,
                                       clock_skew(result.response, std::chrono::system_clock::now()), attempts);
        crypto::wipe(error_body);
        throw error;
    }
    host_.debug("Secret Manager: GET " + target + " answered HTTP 200 after " + attempts_text(attempts));
    return body;
}

}  // namespace backhaul::ncloud
