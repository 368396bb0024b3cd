#include "s3_xml.hpp"

#include <cstdint>
#include <cstdlib>

namespace backhaul::s3 {
namespace {

void append_utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
        out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (code >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (code >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
}

// Position just after "<tag" if a start tag of exactly that name begins at `at`, else npos.
size_t match_start_tag(std::string_view xml, size_t at, std::string_view tag) {
    if (xml.compare(at + 1, tag.size(), tag) != 0) return std::string_view::npos;
    size_t after = at + 1 + tag.size();
    if (after >= xml.size()) return std::string_view::npos;
    char c = xml[after];
    return (c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r') ? after : std::string_view::npos;
}

}  // namespace

std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag) {
    std::vector<std::string_view> out;
    std::string close = "</" + std::string(tag) + ">";
    size_t at = 0;
    while ((at = xml.find('<', at)) != std::string_view::npos) {
        size_t after = match_start_tag(xml, at, tag);
        if (after == std::string_view::npos) {
            ++at;
            continue;
        }
        size_t end_of_tag = xml.find('>', after);
        if (end_of_tag == std::string_view::npos) break;
        if (xml[end_of_tag - 1] == '/') {  // <tag/>
            out.emplace_back();
            at = end_of_tag + 1;
            continue;
        }
        size_t end = xml.find(close, end_of_tag + 1);
        if (end == std::string_view::npos) break;
        out.push_back(xml.substr(end_of_tag + 1, end - end_of_tag - 1));
        at = end + close.size();
    }
    return out;
}

std::optional<std::string> xml_text(std::string_view xml, std::string_view tag) {
    std::vector<std::string_view> found = xml_elements(xml, tag);
    if (found.empty()) return std::nullopt;
    return xml_unescape(found.front());
}

bool xml_root_is(std::string_view xml, std::string_view tag) {
    size_t at = 0;
    while ((at = xml.find('<', at)) != std::string_view::npos) {
        if (at + 1 < xml.size() && (xml[at + 1] == '?' || xml[at + 1] == '!')) {
            ++at;
            continue;
        }
        return match_start_tag(xml, at, tag) != std::string_view::npos;
    }
    return false;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            case '\r':
                out += "&#13;";
                break;
            case '\n':
                out += "&#10;";
                break;
            case '\t':
                out += "&#9;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

std::string xml_unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '&') {
            out.push_back(text[i]);
            continue;
        }
        size_t semi = text.find(';', i);
        if (semi == std::string_view::npos) {
            out.push_back('&');
            continue;
        }
        std::string_view entity = text.substr(i + 1, semi - i - 1);
        if (entity == "amp")
            out.push_back('&');
        else if (entity == "lt")
            out.push_back('<');
        else if (entity == "gt")
            out.push_back('>');
        else if (entity == "quot")
            out.push_back('"');
        else if (entity == "apos")
            out.push_back('\'');
        else if (entity.size() > 1 && entity[0] == '#') {
            std::string digits(entity.substr(entity[1] == 'x' || entity[1] == 'X' ? 2 : 1));
            char* end = nullptr;
            unsigned long code = std::strtoul(digits.c_str(), &end, entity[1] == 'x' || entity[1] == 'X' ? 16 : 10);
            if (digits.empty() || *end != '\0' || code > 0x10ffff) {
                out.append(text.substr(i, semi - i + 1));
            } else {
                append_utf8(out, static_cast<uint32_t>(code));
            }
        } else {
            out.append(text.substr(i, semi - i + 1));
        }
        i = semi;
    }
    return out;
}

}  // namespace backhaul::s3
