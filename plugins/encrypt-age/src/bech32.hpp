// Bech32 (BIP 173, the original checksum, not Bech32m) as age uses it for keys: `age1…` recipients and
// `AGE-SECRET-KEY-1…` identities. Unlike BIP 173, age sets no 90-character limit. Strings are all lower or all upper
// case; mixed case is invalid.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backhaul::age {

struct Bech32Data {
    std::string hrp;  // human-readable part, lower case
    std::vector<uint8_t> data;
};

// Lower-case encoding of 8-bit `data` under `hrp` (which must be lower case).
std::string bech32_encode(std::string_view hrp, std::span<const uint8_t> data);
// nullopt for a bad checksum, mixed case, characters outside the charset, or non-zero padding bits.
std::optional<Bech32Data> bech32_decode(std::string_view text);

}  // namespace backhaul::age
