#include "secret_value_response.hpp"

#include <backhaul/sdk.hpp>

namespace backhaul::ncloud {
namespace {

constexpr const char* kStages[] = {"active", "previous", "pending"};

Error malformed(std::string_view secret_id, const std::string& what) {
    return Error(Status::fatal, "Secret Manager's answer for secret '" + std::string(secret_id) + "' " + what);
}

}  // namespace

std::vector<SecretField> secret_fields_of_value(const crypto::SecretString& value) {
    std::vector<SecretField> fields;
    SecretJson parsed = SecretJson::parse(value, nullptr, /*allow_exceptions=*/false);
    crypto::WipeOnExit wipe_parsed(parsed);
    if (parsed.is_discarded() || !parsed.is_object()) {
        fields.push_back({kPlainValueField, value});
        return fields;
    }
    for (auto& [name, member] : parsed.items()) {
        SecretField& field = fields.emplace_back();
        field.name = std::string(name.data(), name.size());
        field.value = member.is_string() ? member.get_ref<const crypto::SecretString&>() : member.dump();
    }
    return fields;
}

std::vector<SecretField> secret_fields_from_response(const crypto::SecretString& body, std::string_view secret_id,
                                                     std::string_view stage) {
    SecretJson parsed = SecretJson::parse(body, nullptr, /*allow_exceptions=*/false);
    crypto::WipeOnExit wipe_parsed(parsed);
    if (parsed.is_discarded() || !parsed.is_object())
        throw malformed(secret_id, "is not a JSON object (" + std::to_string(body.size()) + " bytes)");

    auto code = parsed.find("code");
    if (code == parsed.end() || !code->is_string()) throw malformed(secret_id, "has no \"code\" field");
    if (code->get_ref<const crypto::SecretString&>() != "SUCCESS") {
        const crypto::SecretString& text = code->get_ref<const crypto::SecretString&>();
        throw malformed(secret_id, "has code '" + std::string(text.data(), text.size()) + "' instead of SUCCESS");
    }

    auto data = parsed.find("data");
    if (data == parsed.end() || !data->is_object()) throw malformed(secret_id, "has no \"data\" object");
    auto chain = data->find("decryptedSecretChain");
    if (chain == data->end() || !chain->is_object())
        throw malformed(secret_id, "has no \"data.decryptedSecretChain\" object");

    auto value = chain->find(SecretJson::object_t::key_type(stage.data(), stage.size()));
    if (value == chain->end() || !value->is_string()) {
        std::string present;
        for (const char* name : kStages) {
            auto other = chain->find(name);
            if (other != chain->end() && other->is_string())
                present += (present.empty() ? "" : ", ") + std::string(name);
        }
        throw Error(Status::fatal, "secret '" + std::string(secret_id) + "' has no '" + std::string(stage) +
                                       "' value (stages present: " + (present.empty() ? "none" : present) + ")");
    }
    return secret_fields_of_value(value->get_ref<const crypto::SecretString&>());
}

}  // namespace backhaul::ncloud
