// Fuzz target: bytes as an answer of NCloud Secret Manager through secret-ncloud's JSON handling: a GetSecretValue
// body, the secret value inside it, and an error envelope. The answer comes from the network, so it may only ever
// produce fields or a backhaul::Error, and an error line must never quote the body (it may hold the secret).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "secret_manager_client.hpp"
#include "secret_value_response.hpp"

namespace {

using namespace backhaul;
using namespace backhaul::ncloud;

// The same answer with every secret value in it, each string under data.decryptedSecretChain, replaced by another
// one (the value with "#canary" appended); nullopt when the answer holds no secret value.
std::optional<crypto::SecretString> with_other_secret_values(const crypto::SecretString& body) {
    nlohmann::json parsed = nlohmann::json::parse(std::string_view(body), nullptr, false);
    if (!parsed.is_object()) return std::nullopt;
    auto data = parsed.find("data");
    if (data == parsed.end() || !data->is_object()) return std::nullopt;
    auto chain = data->find("decryptedSecretChain");
    if (chain == data->end() || !chain->is_object()) return std::nullopt;
    bool replaced = false;
    for (auto value = chain->begin(); value != chain->end(); ++value) {
        if (!value->is_string()) continue;
        *value = value->get<std::string>() + "#canary";
        replaced = true;
    }
    if (!replaced) return std::nullopt;
    const std::string text = parsed.dump();
    return crypto::SecretString(text.data(), text.size());
}

// The error line secret_fields_from_response throws for `body`, nullopt if it gives fields.
std::optional<std::string> error_of(const crypto::SecretString& body, std::string_view stage) {
    try {
        std::vector<SecretField> fields = secret_fields_from_response(body, "db-secret", stage);
        (void)fields;
        return std::nullopt;
    } catch (const Error& error) {
        return std::string(error.what());
    }
}

// Exact form of "an error never quotes a secret value": the outcome must not depend on the values at all. Looking
// for a value in the message instead flags a value that happens to equal words of the fixed text (a secret
// "SUCCESS" in "... has code 'SUCBESS' instead of SUCCESS"), while a message that quotes a value changes with it.
void parse_response(const crypto::SecretString& body, std::string_view stage) {
    const std::optional<std::string> error = error_of(body, stage);
    const std::optional<crypto::SecretString> other = with_other_secret_values(body);
    if (!other) return;
    const std::optional<std::string> other_error = error_of(*other, stage);
    if (error != other_error)
        fuzz_fail("the outcome depends on the secret values: '" + error.value_or("fields") + "' vs. '" +
                  other_error.value_or("fields") + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const crypto::SecretString body(reinterpret_cast<const char*>(data), size);
    parse_response(body, "active");
    parse_response(body, "previous");
    try {
        // Only a JSON object (possibly "{}") may give no field; any other value is the single field "value".
        std::vector<SecretField> fields = secret_fields_of_value(body);
        const bool object = nlohmann::json::accept(std::string_view(body)) && body.find('{') != std::string::npos &&
                            nlohmann::json::parse(std::string_view(body)).is_object();
        if (!object && (fields.size() != 1 || fields[0].name != kPlainValueField || fields[0].value != body))
            fuzz_fail("a value that is not a JSON object did not become the single field 'value'");
    } catch (const Error&) {
    }
    (void)parse_error_envelope(std::string_view(body));
    return 0;
}
