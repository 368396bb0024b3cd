// The two formats of a secret file: a JSON object, or KEY=VALUE lines. Parsing never quotes file content in an error
// (a line that fails to parse may be a password): errors name the line, and column for JSON.
#pragma once

#include <backhaul/support/crypto/secure_memory.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backhaul::secret_file {

struct Field {
    std::string name;
    crypto::SecretString value;

    Field() = default;
    Field(std::string field_name, crypto::SecretString field_value)
        : name(std::move(field_name)), value(std::move(field_value)) {}
    Field(Field&&) = default;
    Field& operator=(Field&&) = default;
    ~Field() { crypto::wipe(value); }
};

enum class Format { automatic, json, key_value };

// Throws std::runtime_error with a message that reads after "secret file 'PATH' ": "line 3: expected KEY=VALUE",
// "is not valid JSON: syntax error at line 2, column 9", "has no fields".
// automatic: JSON if the first non-blank character is '{', else KEY=VALUE.
std::vector<Field> parse_secret_file(const crypto::SecretString& content, Format format);

// JSON object: strings as they are, other values as compact JSON text.
std::vector<Field> parse_json_fields(const crypto::SecretString& content);
// KEY=VALUE lines: '#' comments and blank lines skipped, optional "export " prefix, keys of letters, digits, '_', '.',
// '-', values trimmed and unquoted when wrapped in matching ' or " (no escapes), each key once.
std::vector<Field> parse_key_value_fields(const crypto::SecretString& content);

}  // namespace backhaul::secret_file
