// The body of Secret Manager's GetSecretValue answer: {"code":"SUCCESS","data":{"decryptedSecretChain":{"active":
// "<secret>", "previous": ..., "pending": ...}}}, where each stage's value is itself JSON text for a key/value secret.
// Every intermediate buffer is a SecretString and every parsed document is wiped before it is released, so parsing
// leaves no unwiped copy of a value on the heap.
#pragma once

#include <backhaul/support/crypto/secret_json.hpp>
#include <backhaul/support/crypto/secure_memory.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backhaul::ncloud {

using crypto::SecretJson;

struct SecretField {
    std::string name;
    crypto::SecretString value;

    SecretField() = default;
    SecretField(std::string field_name, crypto::SecretString field_value)
        : name(std::move(field_name)), value(std::move(field_value)) {}
    SecretField(SecretField&&) = default;
    SecretField& operator=(SecretField&&) = default;
    ~SecretField() { crypto::wipe(value); }
};

// The field a value that is not a JSON object is published under: ${secret:ID.value}.
inline constexpr const char* kPlainValueField = "value";

// The fields of one stage of the secret. Throws backhaul::Error (fatal) with one line that names the secret and never
// quotes the body: not JSON, code other than SUCCESS, no decryptedSecretChain, or no string under `stage`.
std::vector<SecretField> secret_fields_from_response(const crypto::SecretString& body, std::string_view secret_id,
                                                     std::string_view stage);

// The fields of one secret value: a JSON object gives one field per member (strings as they are, other values as
// compact JSON text); anything else gives the single field "value" with the text unchanged.
std::vector<SecretField> secret_fields_of_value(const crypto::SecretString& value);

}  // namespace backhaul::ncloud
