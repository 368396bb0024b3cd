#include "engine/secret_store.hpp"

#include <backhaul/common/secure_memory.hpp>
#include <cstdlib>

#include "config/option_binding.hpp"
#include "engine/plugin_instance.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {

SecretStore::~SecretStore() {
    for (auto& [id, fields] : fields_)
        for (auto& [name, value] : fields) common::wipe(value);
}

std::optional<std::string> SecretStore::env(const std::string& name) const {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
}

std::optional<std::string> SecretStore::secret(const std::string& id, const std::string& field) const {
    auto secret = fields_.find(id);
    if (secret == fields_.end()) throw RunError("secret '" + id + "' is not defined");
    auto value = secret->second.find(field);
    if (value == secret->second.end()) {
        std::string names;
        for (const auto& [name, v] : secret->second) names += (names.empty() ? "" : ", ") + name;
        throw RunError("secrets." + id + ": no field '" + field + "' (fields: " + (names.empty() ? "none" : names) +
                       ")");
    }
    return value->second;
}

void SecretStore::fetch_all(const PipelinePlan& plan, const RunControl& control) {
    for (size_t i = 0; i < plan.secrets.size(); ++i) fetch(plan, i, control);
}

std::vector<std::string> SecretStore::fetch(const PipelinePlan& plan, size_t index, const RunControl& control) {
    ValidationResolver env_only({});
    const StagePlan& stage = plan.secrets.at(index);
    const std::string& id = plan.spec.secrets.at(index).first;
    PluginInstance instance(*stage.plugin, *stage.spec, bind_stage_options(stage, env_only), control);
    for (const std::string& s : instance.options().secret_values()) Log::add_secret(s);
    std::map<std::string, std::string> fetched;
    try {
        instance.fetch([&](std::string_view name, std::string_view value) {
            std::string& slot = fetched[std::string(name)];
            slot.assign(value);
            Log::add_secret(slot);
        });
    } catch (...) {
        for (auto& [name, value] : fetched) common::wipe(value);
        throw;
    }
    std::vector<std::string> names;
    auto& fields = fields_[id];
    for (auto& [name, value] : fetched) {
        names.push_back(name);
        fields[name] = value;
        common::wipe(value);
    }
    return names;
}

}  // namespace backhaul
