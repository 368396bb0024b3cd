// AWS Signature Version 4 (AWS4-HMAC-SHA256), implemented once for every plugin that talks to AWS or an
// S3-compatible service. The caller builds the request exactly as it goes on the wire; the signer only reads it, so
// what is signed is what is sent.
//
// Path rules are S3's: the canonical URI is the request path exactly as sent (the caller encodes each segment once
// with uri_encode_path), never normalised ("//", "." and ".." stay) and never encoded a second time.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backhaul::aws {

struct Credentials {
    std::string access_key;  // may contain ':' (Swift tempauth keys are "account:user")
    std::string secret_key;
    std::string session_token;  // "" unless temporary credentials; then sent and signed as x-amz-security-token
};

struct Scope {
    std::string region;   // e.g. "kr-standard", "us-east-1"
    std::string service;  // e.g. "s3"
};

using QueryParameters = std::vector<std::pair<std::string, std::string>>;  // raw (not encoded) name, value
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct SignableRequest {
    std::string method;          // "GET", "PUT", ...
    std::string path;            // encoded request path as sent, e.g. "/bucket/a%20b.txt"
    QueryParameters query;       // encoded by the signer, in canonical order (see canonical_query_string)
    HeaderList headers;          // every header here is signed; must include "host" and "x-amz-date"
    std::string payload_sha256;  // lower-case hex SHA-256 of the body ("e3b0..." for none)
};

struct Signature {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;  // "host;x-amz-content-sha256;x-amz-date"
    std::string signature;       // lower-case hex
    std::string authorization;   // the Authorization header value
};

// Percent-encodes per SigV4: A-Z a-z 0-9 - . _ ~ stay, every other byte is %XX (upper-case hex); space is %20.
std::string uri_encode(std::string_view text);
// The same, keeping '/' (for an object key inside a path).
std::string uri_encode_path(std::string_view text);
// Decodes %XX sequences (a '+' stays '+'). Malformed escapes are kept as they are.
std::string uri_decode(std::string_view text);

// "name=value&..." with names and values encoded by uri_encode and sorted by name, then value. The same string is
// what a client must put on the wire after '?'.
std::string canonical_query_string(const QueryParameters& query);

// YYYYMMDD'T'HHMMSS'Z' in UTC, the x-amz-date format.
std::string amz_date(std::chrono::system_clock::time_point time);

// Signs `request` at `amz_date` (the value of its x-amz-date header). Throws std::invalid_argument if the date is
// malformed.
Signature sign(const SignableRequest& request, const Credentials& credentials, const Scope& scope,
               std::string_view amz_date);

}  // namespace backhaul::aws
