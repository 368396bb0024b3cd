#include "base64.hpp"

#include <array>

namespace backhaul::age {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_reverse_table() {
    std::array<int8_t, 256> table{};
    for (int8_t& entry : table) entry = -1;
    for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
    return table;
}
constexpr std::array<int8_t, 256> kReverse = make_reverse_table();

}  // namespace

std::string base64_encode(std::span<const uint8_t> data) {
    std::string out;
    out.reserve((data.size() * 4 + 2) / 3);
    size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        uint32_t group = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(group >> shift) & 63]);
    }
    size_t rest = data.size() - i;
    if (rest == 1) {
        out.push_back(kAlphabet[data[i] >> 2]);
        out.push_back(kAlphabet[(data[i] & 3) << 4]);
    } else if (rest == 2) {
        uint32_t group = (uint32_t{data[i]} << 8) | data[i + 1];
        out.push_back(kAlphabet[group >> 10]);
        out.push_back(kAlphabet[(group >> 4) & 63]);
        out.push_back(kAlphabet[(group & 15) << 2]);
    }
    return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::vector<uint8_t> out;
    out.reserve(text.size() * 3 / 4);
    uint32_t bits = 0;
    int bit_count = 0;
    for (char c : text) {
        int8_t value = kReverse[static_cast<uint8_t>(c)];
        if (value < 0) return std::nullopt;
        bits = (bits << 6) | static_cast<uint32_t>(value);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(static_cast<uint8_t>(bits >> bit_count));
            bits &= (1u << bit_count) - 1;
        }
    }
    // Leftover bits are the unused low bits of the last character: canonical encodings leave them zero.
    if (bits != 0) return std::nullopt;
    return out;
}

}  // namespace backhaul::age
