#include "engine/secret_store.hpp"

#include <cstdlib>


#include "config/option_binding.hpp"
#include "engine/plugin_instance.hpp"
#include "errors.hpp"
#include "config/secure_wipe.hpp"
#include "util/log.hpp"

namespace backhaul {

SecretStore::~SecretStore() {
    for (auto& [id, fields] : fields_)
        for (auto& [name, value] : fields) secure_wipe(value);
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
    ValidationResolver env_only({});
    for (size_t i = 0; i < plan.secrets.size(); ++i) {
        const StagePlan& stage = plan.secrets[i];
        const std::string& id = plan.spec.secrets[i].first;
        const bh_plugin_descriptor& d = *stage.plugin->descriptor;
        PluginInstance instance(*stage.plugin, *stage.spec, bind_stage_options(stage, env_only), control);
        for (const std::string& s : instance.options().secret_values()) Log::add_secret(s);
        auto& fields = fields_[id];
        auto emit = [](void* ctx, const char* name, const char* value, size_t len) {
            std::string& slot = (*static_cast<std::map<std::string, std::string>*>(ctx))[name];
            slot.assign(value, len);
            Log::add_secret(slot);
        };
        instance.check(d.secret->fetch(instance.handle(), emit, &fields), "fetch");
    }
}

}  // namespace backhaul
