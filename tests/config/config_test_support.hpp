// Helpers shared by the config tests.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/interpolation.hpp"
#include "errors.hpp"

namespace backhaul::testing {

// what() of the ConfigError `action` throws, or a note that it threw none.
inline std::string config_error(const std::function<void()>& action) {
    try {
        action();
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "(no ConfigError)";
}

// Resolves against fixed maps; `fetched = false` is validate mode.
class FakeResolver : public ValueResolver {
  public:
    std::map<std::string, std::string> environment;
    std::map<std::string, std::map<std::string, std::string>> secrets;
    bool fetched = true;

    std::optional<std::string> env(const std::string& name) const override {
        const auto found = environment.find(name);
        if (found == environment.end()) return std::nullopt;
        return found->second;
    }
    bool has_secret(const std::string& id) const override { return secrets.count(id) != 0; }
    std::optional<std::string> secret(const std::string& id, const std::string& field) const override {
        if (!fetched) return std::nullopt;
        const auto& fields = secrets.at(id);
        const auto found = fields.find(field);
        if (found == fields.end()) throw std::runtime_error("secret '" + id + "' has no field '" + field + "'");
        return found->second;
    }
};

}  // namespace backhaul::testing
