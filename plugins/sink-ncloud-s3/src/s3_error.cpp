#include "s3_error.hpp"

#include <backhaul/support/aws/credential_chain.hpp>
#include <backhaul/support/http/retry_policy.hpp>

#include "s3_xml.hpp"

namespace backhaul::s3 {
namespace {

// A code for responses without an S3 body (HEAD has none; some proxies answer in HTML).
std::string code_for_status(long status) {
    switch (status) {
        case 400:
            return "BadRequest";
        case 403:
            return "Forbidden";
        case 404:
            return "NotFound";
        case 405:
            return "MethodNotAllowed";
        case 409:
            return "Conflict";
        case 412:
            return "PreconditionFailed";
        case 429:
            return "TooManyRequests";
        case 500:
            return "InternalError";
        case 501:
            return "NotImplemented";
        case 503:
            return "ServiceUnavailable";
        default:
            return "HTTP" + std::to_string(status);
    }
}

}  // namespace

std::string permission_for(const std::string& operation) {
    const std::string name = operation.substr(0, operation.find(' '));
    if (name == "PutObject" || name == "CreateMultipartUpload" || name == "UploadPart" ||
        name == "CompleteMultipartUpload")
        return "s3:PutObject";
    if (name == "AbortMultipartUpload") return "s3:AbortMultipartUpload";
    if (name == "ListObjects") return "s3:ListBucket";
    if (name == "HeadObject" || name == "GetObject") return "s3:GetObject";
    if (name == "DeleteObject" || name == "DeleteObjects") return "s3:DeleteObject";
    return "";
}

namespace {

// "s3://bucket/key" from "PutObject s3://bucket/key" or "UploadPart 3 of s3://bucket/key"; "" if none.
std::string target_of(const std::string& operation) {
    size_t at = operation.find("s3://");
    if (at == std::string::npos) return "";
    return operation.substr(at, operation.find(' ', at) - at);
}

std::string hint_for(const std::string& operation, const std::string& code, const http::Response& response,
                     const std::string& region, const std::string& credential_source) {
    if (std::string hint = credentials_hint(code, credential_source); !hint.empty()) return hint;
    if (code == "AccessDenied" || code == "Forbidden") {
        // IAM's action names: what an administrator grants in the key's or the bucket's policy.
        const std::string permission = permission_for(operation), target = target_of(operation);
        if (permission.empty() || target.empty())
            return "the key is not allowed to do this on the bucket; check its permissions";
        return "the key is not allowed " + permission + " on " + target +
               "; grant it in the key's or the bucket's "
               "policy";
    }
    if (code == "NoSuchBucket") return "check the bucket name, endpoint and region";
    if (code == "AuthorizationHeaderMalformed" || code == "IllegalLocationConstraintException")
        return "check region: '" + region + "' is not this endpoint's region";
    if (code == "RequestTimeTooSkewed") {
        std::string hint = "this machine's clock is off by more than 15 minutes; synchronise it (NTP)";
        if (auto date = response.header("date")) hint += "; the server's time is " + *date;
        return hint;
    }
    return "";
}

}  // namespace

std::string credentials_hint(const std::string& code, const std::string& credential_source) {
    const bool options = credential_source.empty() || credential_source == aws::kOptionsSource;
    if (code == "SignatureDoesNotMatch")
        return options ? "check secret_key (and that access_key belongs to it)"
                       : "check the secret access key from " + credential_source +
                             " (and that its access key id belongs to it)";
    if (code == "InvalidAccessKeyId")
        return options ? "check access_key" : "check the access key id from " + credential_source;
    // STS-issued temporary credentials: AWS answers these; Swift, which has no STS, never does.
    if (code == "ExpiredToken" || code == "TokenRefreshRequired")
        return "the session token " + (options ? std::string("(session_token)") : "from " + credential_source) +
               " has expired; get new temporary credentials (a credential_process is re-run before they expire)";
    if (code == "InvalidToken")
        return "the session token " + (options ? std::string("(session_token)") : "from " + credential_source) +
               " is malformed or does not belong to the access key";
    return "";
}

S3ErrorBody parse_error_body(const std::string& body) {
    S3ErrorBody out;
    if (!xml_root_is(body, "Error")) return out;
    out.code = xml_text(body, "Code").value_or("");
    out.message = xml_text(body, "Message").value_or("");
    return out;
}

bool is_retryable_code(const std::string& code) {
    return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" || code == "RequestTimeout" ||
           code == "Throttling" || code == "ThrottlingException" || code == "RequestThrottled";
}

S3Error make_error(const std::string& operation, const http::Response& response, const std::string& region,
                   const std::string& credential_source) {
    S3ErrorBody body = parse_error_body(response.body);
    std::string code = body.code.empty() ? code_for_status(response.status) : body.code;
    std::string message = operation + " failed: " + code;
    if (!body.message.empty()) message += ": " + body.message;
    message += " (HTTP " + std::to_string(response.status) + ")";
    std::string hint = hint_for(operation, code, response, region, credential_source);
    if (!hint.empty()) message += "; " + hint;
    bool retryable = http::is_retryable_status(response.status) || is_retryable_code(code);
    std::string detail = response.body.substr(0, 2000);
    return S3Error(retryable ? Status::retryable : Status::fatal, message, detail, response.status, code);
}

}  // namespace backhaul::s3
