// The age header: the version line, recipient stanzas and the header MAC line.
//
//   age-encryption.org/v1
//   -> X25519 <base64 ephemeral share>
//   <base64 body, wrapped at 64 columns, ending with a shorter (possibly empty) line>
//   --- <base64 HMAC-SHA-256 of everything up to and including "---">
//
// Parsing is strict (canonical Base64, exact line widths, no CR) because the input is untrusted: every byte arrives
// from storage an attacker may control, and a header has exactly one valid encoding.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backhaul::age {

constexpr std::string_view kVersionLine = "age-encryption.org/v1";

struct Stanza {
    std::string type;               // first argument, e.g. "X25519" or "scrypt"
    std::vector<std::string> args;  // the arguments after the type
    std::vector<uint8_t> body;
};

using HeaderMac = std::array<uint8_t, 32>;

struct Header {
    std::vector<Stanza> stanzas;
    HeaderMac mac{};
};

// The header from the version line up to and including "---": exactly the bytes the MAC covers.
std::string encode_header_without_mac(const std::vector<Stanza>& stanzas);
// The complete header, ending with the MAC line and its newline.
std::string encode_header(const std::vector<Stanza>& stanzas, const HeaderMac& mac);

// Reads a header from a byte stream given in arbitrary pieces. Memory is bounded: a line may not exceed
// kMaxLineLength bytes and the whole header kMaxHeaderSize. Throws FormatError(header) on the first invalid line.
class HeaderParser {
  public:
    static constexpr size_t kMaxLineLength = 4096;
    static constexpr size_t kMaxHeaderSize = 1 << 20;

    // Consumes bytes up to the end of the header and returns how many it took; the rest belongs to the payload.
    size_t feed(std::span<const uint8_t> data);
    bool done() const { return state_ == State::done; }
    // The parsed header; only once done().
    const Header& header() const { return header_; }

  private:
    enum class State { version, stanza_or_mac, body, done };
    void parse_line(std::string_view line);
    void parse_stanza_line(std::string_view line);
    void parse_body_line(std::string_view line);
    void parse_mac_line(std::string_view line);

    State state_ = State::version;
    std::string line_;
    std::string body_text_;
    size_t header_size_ = 0;
    size_t line_number_ = 0;
    Header header_;
};

}  // namespace backhaul::age
