// NCloud API Gateway request signing, "signature v2": Base64(HMAC-SHA256(secret key, "METHOD URI\nTIMESTAMP\nACCESS")).
// The body and other headers are not signed. Facts: /work/shared/reference/ncloud-apis.md, section 1.
#pragma once

#include <backhaul/support/http/http_client.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace backhaul::ncloud {

inline constexpr const char* kTimestampHeader = "x-ncp-apigw-timestamp";
inline constexpr const char* kAccessKeyHeader = "x-ncp-iam-access-key";
inline constexpr const char* kSignatureHeader = "x-ncp-apigw-signature-v2";

// `request_target` is the path plus "?query" exactly as sent on the wire; `timestamp_ms` the decimal milliseconds
// since the epoch that also goes into x-ncp-apigw-timestamp.
std::string string_to_sign(std::string_view method, std::string_view request_target, std::string_view timestamp_ms,
                           std::string_view access_key);

// Base64 (with padding) of HMAC-SHA256 keyed with the secret key's UTF-8 bytes.
std::string signature_v2(std::string_view secret_key, std::string_view string_to_sign);

// The three headers of a signed request, for a timestamp in milliseconds since the epoch.
http::Headers signed_headers(std::string_view method, std::string_view request_target, int64_t timestamp_ms,
                             std::string_view access_key, std::string_view secret_key);

}  // namespace backhaul::ncloud
