#include "header.hpp"

#include <algorithm>

#include "base64.hpp"
#include "format_error.hpp"

namespace backhaul::age {
namespace {

constexpr size_t kBodyColumns = 64;
constexpr std::string_view kStanzaPrefix = "-> ";
constexpr std::string_view kMacPrefix = "---";

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Stanza arguments are non-empty runs of visible ASCII (VCHAR, 0x21-0x7E).
bool is_valid_argument(std::string_view arg) {
    return !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

}  // namespace

std::string encode_header_without_mac(const std::vector<Stanza>& stanzas) {
    std::string out(kVersionLine);
    out += '\n';
    for (const Stanza& stanza : stanzas) {
        out += kStanzaPrefix;
        out += stanza.type;
        for (const std::string& arg : stanza.args) out += ' ' + arg;
        out += '\n';
        std::string body = base64_encode(stanza.body);
        // Full lines of 64 columns, then always a shorter final line, which is empty when the body fills its lines.
        size_t at = 0;
        for (; body.size() - at >= kBodyColumns; at += kBodyColumns) out += body.substr(at, kBodyColumns) + '\n';
        out += body.substr(at) + '\n';
    }
    out += kMacPrefix;
    return out;
}

std::string encode_header(const std::vector<Stanza>& stanzas, const HeaderMac& mac) {
    return encode_header_without_mac(stanzas) + " " + base64_encode(mac) + "\n";
}

size_t HeaderParser::feed(std::span<const uint8_t> data) {
    size_t used = 0;
    while (used < data.size() && state_ != State::done) {
        char c = static_cast<char>(data[used++]);
        ++header_size_;
        if (c != '\n') {
            line_.push_back(c);
            // Fail fast on data that is not age at all instead of waiting for a newline that never comes.
            if (state_ == State::version && line_.size() <= kVersionLine.size() &&
                line_.back() != kVersionLine[line_.size() - 1])
                throw FormatError(FailureKind::header,
                                  "not an age file: it does not start with 'age-encryption.org/v1'");
            if (line_.size() > kMaxLineLength)
                throw header_error("line " + std::to_string(line_number_ + 1) + " is longer than " +
                                   std::to_string(kMaxLineLength) + " bytes");
            continue;
        }
        if (header_size_ > kMaxHeaderSize)
            throw header_error("header is larger than " + std::to_string(kMaxHeaderSize) + " bytes");
        ++line_number_;
        parse_line(line_);
        line_.clear();
    }
    return used;
}

void HeaderParser::parse_line(std::string_view line) {
    switch (state_) {
        case State::version:
            if (line != kVersionLine)
                throw FormatError(FailureKind::header,
                                  "not an age file: it does not start with 'age-encryption.org/v1'");
            state_ = State::stanza_or_mac;
            return;
        case State::stanza_or_mac:
            if (line.starts_with(kMacPrefix)) return parse_mac_line(line);
            if (line.starts_with(kStanzaPrefix)) return parse_stanza_line(line);
            throw header_error("line " + std::to_string(line_number_) +
                               " is neither a stanza ('-> ') nor the MAC ('--- ')");
        case State::body:
            return parse_body_line(line);
        case State::done:
            return;
    }
}

void HeaderParser::parse_stanza_line(std::string_view line) {
    Stanza stanza;
    std::string_view rest = line.substr(kStanzaPrefix.size());
    std::vector<std::string> args;
    while (true) {
        size_t space = rest.find(' ');
        std::string_view arg = rest.substr(0, space);
        if (!is_valid_argument(arg))
            throw header_error("line " + std::to_string(line_number_) +
                               ": stanza arguments must be non-empty printable "
                               "ASCII separated by single spaces");
        args.emplace_back(arg);
        if (space == std::string_view::npos) break;
        rest = rest.substr(space + 1);
    }
    stanza.type = args.front();
    stanza.args.assign(args.begin() + 1, args.end());
    header_.stanzas.push_back(std::move(stanza));
    body_text_.clear();
    state_ = State::body;
}

void HeaderParser::parse_body_line(std::string_view line) {
    if (line.size() > kBodyColumns || !std::all_of(line.begin(), line.end(), is_base64_char))
        throw header_error("line " + std::to_string(line_number_) +
                           ": stanza body lines must be unpadded Base64 of at most 64 columns");
    body_text_ += line;
    if (line.size() == kBodyColumns) return;  // a full line: the body goes on
    std::optional<std::vector<uint8_t>> body = base64_decode(body_text_);
    if (!body) throw header_error("line " + std::to_string(line_number_) + ": stanza body is not canonical Base64");
    header_.stanzas.back().body = std::move(*body);
    state_ = State::stanza_or_mac;
}

void HeaderParser::parse_mac_line(std::string_view line) {
    std::string_view encoded = line.substr(kMacPrefix.size());
    std::optional<std::vector<uint8_t>> mac;
    if (encoded.starts_with(' ')) mac = base64_decode(encoded.substr(1));
    if (!mac || mac->size() != header_.mac.size())
        throw header_error("line " + std::to_string(line_number_) +
                           ": the MAC line must be '--- ' and 43 Base64 "
                           "characters");
    std::copy(mac->begin(), mac->end(), header_.mac.begin());
    state_ = State::done;
}

}  // namespace backhaul::age
