#include "signature_v2.hpp"

#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>

namespace backhaul::ncloud {

std::string string_to_sign(std::string_view method, std::string_view request_target, std::string_view timestamp_ms,
                           std::string_view access_key) {
    std::string text;
    text.reserve(method.size() + request_target.size() + timestamp_ms.size() + access_key.size() + 3);
    text.append(method).append(" ").append(request_target).append("\n");
    text.append(timestamp_ms).append("\n").append(access_key);
    return text;
}

std::string signature_v2(std::string_view secret_key, std::string_view string_to_sign) {
    crypto::Sha256Digest mac = crypto::hmac_sha256(secret_key, string_to_sign);
    return crypto::base64(mac);
}

http::Headers signed_headers(std::string_view method, std::string_view request_target, int64_t timestamp_ms,
                             std::string_view access_key, std::string_view secret_key) {
    std::string timestamp = std::to_string(timestamp_ms);
    std::string signature = signature_v2(secret_key, string_to_sign(method, request_target, timestamp, access_key));
    return {{kTimestampHeader, timestamp}, {kAccessKeyHeader, std::string(access_key)}, {kSignatureHeader, signature}};
}

}  // namespace backhaul::ncloud
