// Fuzz target: bytes as an answer of NCloud Secret Manager through secret-ncloud's JSON handling: a GetSecretValue
// body, the secret value inside it, and an error envelope. The answer comes from the network, so it may only ever
// produce fields or a backhaul::Error, and an error line must never quote the body (it may hold the secret).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "secret_manager_client.hpp"
#include "secret_value_response.hpp"

namespace {

using namespace backhaul;
using namespace backhaul::ncloud;

// The secret values in an answer: every string of 4 bytes or more under data.decryptedSecretChain (shorter ones would
// match ordinary words of any message). Strings that are also the answer's "code" are left out: the message quotes
// the code, which is not secret.
std::vector<std::string> secret_values_in(const crypto::SecretString& body) {
    std::vector<std::string> values;
    nlohmann::json parsed = nlohmann::json::parse(std::string_view(body), nullptr, false);
    if (!parsed.is_object() || !parsed.contains("data") || !parsed["data"].is_object()) return values;
    const nlohmann::json& chain = parsed["data"].value("decryptedSecretChain", nlohmann::json());
    if (!chain.is_object()) return values;
    const std::string code =
        parsed.contains("code") && parsed["code"].is_string() ? parsed["code"].get<std::string>() : "";
    for (const auto& [stage, value] : chain.items())
        if (value.is_string() && value.get<std::string>().size() >= 4 && value.get<std::string>() != code)
            values.push_back(value.get<std::string>());
    return values;
}

void parse_response(const crypto::SecretString& body, std::string_view stage) {
    try {
        std::vector<SecretField> fields = secret_fields_from_response(body, "db-secret", stage);
        (void)fields;
    } catch (const Error& error) {
        for (const std::string& value : secret_values_in(body))
            if (std::string_view(error.what()).find(value) != std::string_view::npos)
                fuzz_fail(std::string("error message quotes a secret value: ") + error.what());
    }
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
