#include "bech32.hpp"

#include <array>

namespace backhaul::age {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t polymod(std::span<const uint8_t> values) {
    constexpr std::array<uint32_t, 5> kGenerator = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t checksum = 1;
    for (uint8_t value : values) {
        uint32_t top = checksum >> 25;
        checksum = ((checksum & 0x1ffffff) << 5) ^ value;
        for (int i = 0; i < 5; ++i)
            if ((top >> i) & 1) checksum ^= kGenerator[i];
    }
    return checksum;
}

std::vector<uint8_t> expand_hrp(std::string_view hrp) {
    std::vector<uint8_t> out;
    for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
    out.push_back(0);
    for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
    return out;
}

// Regroups bits from `from`-bit to `to`-bit values. Encoding pads the tail with zeros; decoding refuses a tail of
// `from` bits or more, or a non-zero one.
std::optional<std::vector<uint8_t>> convert_bits(std::span<const uint8_t> in, int from, int to, bool pad) {
    uint32_t accumulator = 0;
    int bits = 0;
    const uint32_t max_value = (1u << to) - 1;
    std::vector<uint8_t> out;
    for (uint8_t value : in) {
        if (value >> from) return std::nullopt;
        accumulator = (accumulator << from) | value;
        bits += from;
        while (bits >= to) {
            bits -= to;
            out.push_back(static_cast<uint8_t>((accumulator >> bits) & max_value));
        }
    }
    if (pad) {
        if (bits > 0) out.push_back(static_cast<uint8_t>((accumulator << (to - bits)) & max_value));
    } else if (bits >= from || ((accumulator << (to - bits)) & max_value) != 0) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

std::string bech32_encode(std::string_view hrp, std::span<const uint8_t> data) {
    std::vector<uint8_t> values = *convert_bits(data, 8, 5, true);
    std::vector<uint8_t> checked = expand_hrp(hrp);
    checked.insert(checked.end(), values.begin(), values.end());
    checked.insert(checked.end(), 6, 0);
    uint32_t checksum = polymod(checked) ^ 1;
    std::string out(hrp);
    out.push_back('1');
    for (uint8_t value : values) out.push_back(kCharset[value]);
    for (int i = 0; i < 6; ++i) out.push_back(kCharset[(checksum >> (5 * (5 - i))) & 31]);
    return out;
}

std::optional<Bech32Data> bech32_decode(std::string_view text) {
    bool has_lower = false, has_upper = false;
    for (char c : text) {
        if (c < 33 || c > 126) return std::nullopt;
        has_lower = has_lower || (c >= 'a' && c <= 'z');
        has_upper = has_upper || (c >= 'A' && c <= 'Z');
    }
    if (has_lower && has_upper) return std::nullopt;
    std::string lower(text);
    for (char& c : lower)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    size_t separator = lower.rfind('1');
    if (separator == std::string::npos || separator == 0 || separator + 7 > lower.size()) return std::nullopt;
    std::string hrp = lower.substr(0, separator);
    std::vector<uint8_t> values;
    for (char c : std::string_view(lower).substr(separator + 1)) {
        const char* found = std::char_traits<char>::find(kCharset, 32, c);
        if (!found) return std::nullopt;
        values.push_back(static_cast<uint8_t>(found - kCharset));
    }
    std::vector<uint8_t> checked = expand_hrp(hrp);
    checked.insert(checked.end(), values.begin(), values.end());
    if (polymod(checked) != 1) return std::nullopt;
    values.resize(values.size() - 6);
    std::optional<std::vector<uint8_t>> data = convert_bits(values, 5, 8, false);
    if (!data) return std::nullopt;
    return Bech32Data{std::move(hrp), std::move(*data)};
}

}  // namespace backhaul::age
