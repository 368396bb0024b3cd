// Byte encodings: lower-case hex (digests in manifests, SigV4, ETags) and standard Base64 with padding (Content-MD5,
// signature v2 of the NCloud API gateway). Plugins reach them as <backhaul/support/crypto/encoding.hpp>.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backhaul::common {

std::string hex(std::span<const uint8_t> data);
std::string base64(std::span<const uint8_t> data);
// nullopt if `text` is not valid padded Base64.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace backhaul::common
