#include "config/interpolation.hpp"

#include <backhaul/common/secure_memory.hpp>
#include <cstdlib>

namespace backhaul {

namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_env_name(std::string_view name) {
    if (name.empty() || !is_name_start(name.front())) return false;
    for (const char c : name)
        if (!is_name_char(c)) return false;
    return true;
}

// Same shape as a [secrets.<id>] id.
bool is_secret_id(std::string_view id) {
    if (id.empty() || !is_name_start(id.front())) return false;
    for (const char c : id)
        if (!is_name_char(c) && c != '-') return false;
    return true;
}

bool is_field_name(std::string_view field) {
    if (field.empty()) return false;
    for (const char c : field)
        if (!is_name_char(c) && c != '-' && c != '.') return false;
    return true;
}

}  // namespace

std::optional<std::string> ProcessEnvResolver::env(const std::string& name) const {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

std::string secret_placeholder(const std::string& id, const std::string& field) {
    return "<secret:" + id + "." + field + ">";
}

InterpolatedString interpolate(std::string_view text, const ValueResolver& resolver, const SourcePosition& where,
                               const std::string& context) {
    const auto fail = [&](const std::string& problem) -> ConfigError {
        return ConfigError(where, context + ": " + problem);
    };
    InterpolatedString result;
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t dollar = text.find('$', pos);
        if (dollar == std::string_view::npos) {
            result.value.append(text.substr(pos));
            break;
        }
        result.value.append(text.substr(pos, dollar - pos));
        if (text.substr(dollar, 3) == "$${") {
            result.value.append("${");
            pos = dollar + 3;
            continue;
        }
        if (text.substr(dollar, 2) != "${") {
            result.value.push_back('$');
            pos = dollar + 1;
            continue;
        }
        const size_t close = text.find('}', dollar + 2);
        if (close == std::string_view::npos) {
            throw fail("unterminated reference '" + std::string(text.substr(dollar)) +
                       "' (missing '}'; write '$${' for a literal '${')");
        }
        const std::string reference(text.substr(dollar, close + 1 - dollar));
        const std::string_view body = text.substr(dollar + 2, close - dollar - 2);
        result.has_references = true;
        if (body.substr(0, 4) == "env:") {
            const std::string name(body.substr(4));
            if (name.empty()) throw fail("empty variable name in '" + reference + "'");
            if (!is_env_name(name)) throw fail("invalid environment variable name in '" + reference + "'");
            const std::optional<std::string> value = resolver.env(name);
            if (!value) throw fail("undefined environment variable '" + name + "'");
            result.value.append(*value);
        } else if (body.substr(0, 7) == "secret:") {
            const std::string_view path = body.substr(7);
            const size_t dot = path.find('.');
            if (path.empty()) throw fail("empty secret name in '" + reference + "'");
            if (dot == std::string_view::npos || dot + 1 == path.size()) {
                throw fail("secret reference '" + reference + "' needs a field: ${secret:ID.FIELD}");
            }
            const std::string id(path.substr(0, dot));
            const std::string field(path.substr(dot + 1));
            if (!is_secret_id(id) || !is_field_name(field)) throw fail("invalid secret reference '" + reference + "'");
            if (!resolver.has_secret(id)) {
                throw fail("reference to undefined secret '" + id + "' (define [secrets." + id + "])");
            }
            std::optional<std::string> value = resolver.secret(id, field);
            result.contains_secret = true;
            if (value) {
                result.value.append(*value);
                common::wipe(*value);
            } else {
                result.has_placeholder = true;
                result.value.append(secret_placeholder(id, field));
            }
        } else {
            throw fail("unknown reference '" + reference + "' (expected ${env:NAME} or ${secret:ID.FIELD})");
        }
        pos = close + 1;
    }
    return result;
}

}  // namespace backhaul
