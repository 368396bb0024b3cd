#include "secret_file_format.hpp"

#include <algorithm>
#include <backhaul/support/crypto/secret_json.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace backhaul::secret_file {
namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    return text;
}

bool valid_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '.' || c == '-';
    });
}

std::string at_line(size_t line) { return "line " + std::to_string(line) + ": "; }

}  // namespace

std::vector<Field> parse_json_fields(const crypto::SecretString& content) {
    crypto::SecretJson parsed;
    crypto::WipeOnExit wipe_parsed(parsed);
    try {
        parsed = crypto::SecretJson::parse(content);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() quotes the text around the error: compute the position ourselves instead.
        size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, content.size());
        size_t line = 1, column = 1;
        for (size_t i = 0; i < end; ++i) {
            if (content[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw std::runtime_error("is not valid JSON: syntax error at line " + std::to_string(line) + ", column " +
                                 std::to_string(column));
    }
    if (!parsed.is_object()) throw std::runtime_error("holds JSON but not an object of fields");
    std::vector<Field> fields;
    for (auto& [name, member] : parsed.items()) {
        Field& field = fields.emplace_back();
        field.name = std::string(name.data(), name.size());
        field.value = member.is_string() ? member.get_ref<const crypto::SecretString&>() : member.dump();
    }
    return fields;
}

std::vector<Field> parse_key_value_fields(const crypto::SecretString& content) {
    std::vector<Field> fields;
    std::map<std::string, size_t> first_line;
    std::string_view rest(content.data(), content.size());
    for (size_t number = 1; !rest.empty(); ++number) {
        size_t newline = rest.find('\n');
        std::string_view line = trim(rest.substr(0, newline));
        rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
        if (line.empty() || line.front() == '#') continue;
        if (line.starts_with("export ") || line.starts_with("export\t")) line = trim(line.substr(7));
        size_t equals = line.find('=');
        if (equals == std::string_view::npos) throw std::runtime_error(at_line(number) + "expected KEY=VALUE");
        std::string_view key = trim(line.substr(0, equals));
        if (!valid_key(key))
            throw std::runtime_error(at_line(number) + "the key must be letters, digits, '_', '.' or '-'");
        std::string name(key);
        if (auto seen = first_line.find(name); seen != first_line.end())
            throw std::runtime_error(at_line(number) + "key '" + name + "' repeats line " +
                                     std::to_string(seen->second));
        first_line.emplace(name, number);
        std::string_view value = trim(line.substr(equals + 1));
        if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
            if (value.size() < 2 || value.back() != value.front())
                throw std::runtime_error(at_line(number) + "unterminated quote in the value of '" + name + "'");
            value = value.substr(1, value.size() - 2);
        }
        fields.push_back({name, crypto::SecretString(value.data(), value.size())});
    }
    return fields;
}

std::vector<Field> parse_secret_file(const crypto::SecretString& content, Format format) {
    if (format == Format::automatic) {
        auto first = std::find_if(content.begin(), content.end(), [](char c) { return !blank(c); });
        format = first != content.end() && *first == '{' ? Format::json : Format::key_value;
    }
    std::vector<Field> fields = format == Format::json ? parse_json_fields(content) : parse_key_value_fields(content);
    if (fields.empty()) throw std::runtime_error("has no fields");
    return fields;
}

}  // namespace backhaul::secret_file
