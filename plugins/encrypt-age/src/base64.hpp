// The Base64 of the age header: the standard alphabet without padding, and only the canonical encoding (the unused low
// bits of the last character are zero). The spec requires rejecting everything else, so that a header has exactly one
// byte representation and its MAC cannot be dodged by re-encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backhaul::age {

std::string base64_encode(std::span<const uint8_t> data);
// nullopt for padding, characters outside the alphabet, an impossible length (4n+1) or non-zero unused bits.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace backhaul::age
