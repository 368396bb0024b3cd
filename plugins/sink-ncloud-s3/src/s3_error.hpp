// S3 error responses turned into what the user reads: the operation, the S3 code and message, and a hint for the
// errors whose cause is usually on the user's side (keys, permissions, bucket name, clock).
#pragma once

#include <backhaul/sdk.hpp>
#include <backhaul/support/http/http_client.hpp>
#include <string>

namespace backhaul::s3 {

// An S3 request that failed with an HTTP error status (or a 200 whose body is an <Error>).
class S3Error : public Error {
  public:
    S3Error(Status status, const std::string& message, std::string detail, long http_status, std::string code)
        : Error(status, message, std::move(detail)), http_status_(http_status), code_(std::move(code)) {}
    long http_status() const { return http_status_; }
    const std::string& code() const { return code_; }  // S3's <Code>, or a stand-in for bodiless responses

  private:
    long http_status_;
    std::string code_;
};

struct S3ErrorBody {
    std::string code;     // e.g. "SignatureDoesNotMatch"; "" if the body is not an S3 <Error>
    std::string message;  // S3's <Message>
};

S3ErrorBody parse_error_body(const std::string& body);

// The IAM action a request needs ("s3:PutObject" for PutObject, CreateMultipartUpload, UploadPart, ...), from the
// operation's name as S3Client::execute is given it; "" for one it does not know.
std::string permission_for(const std::string& operation);

// True for S3 codes that mean "try again" whatever the HTTP status.
bool is_retryable_code(const std::string& code);

// Builds the error for a failed response. `operation` names what was attempted, e.g.
// "UploadPart 3 of s3://bucket/key". Client errors (4xx) are fatal; server errors are retryable.
// `credential_source` (aws::ResolvedCredentials::source, "" = the options) is where a hint about a wrong key or an
// expired token sends the reader.
S3Error make_error(const std::string& operation, const http::Response& response, const std::string& region,
                   const std::string& credential_source = "");
// What to check for an S3 error code about the credentials (a wrong key, a bad or expired token); "" for other codes.
std::string credentials_hint(const std::string& code, const std::string& credential_source);

}  // namespace backhaul::s3
