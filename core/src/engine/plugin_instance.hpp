// One created plugin instance, owned RAII-style: created from bound options, destroyed with the object.
#pragma once

#include <string>
#include <string_view>

#include <backhaul/plugin_abi.h>

#include "config/option_binding.hpp"
#include "engine/stage_host.hpp"
#include "loader/plugin_registry.hpp"

namespace backhaul {

class PluginInstance {
public:
    // Calls the plugin's create(). Throws ConfigError at the stage's table if the plugin refuses its options
    // (BH_INVALID_CONFIG), else RunError "label: message" if it fails (including a throwing constructor).
    PluginInstance(const LoadedPlugin& plugin, const StageSpec& stage, BoundOptions options,
                   const RunControl& control);
    ~PluginInstance();
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;

    void* handle() const { return instance_; }
    const bh_plugin_descriptor& descriptor() const { return *plugin_.descriptor; }
    StageHost& host() { return host_; }
    const std::string& label() const { return host_.label(); }
    const BoundOptions& options() const { return options_; }

    // The one-line error for a failed call: "label: <plugin's message>" or, if the plugin said nothing,
    // "label: <what> failed (<status>)".
    std::string error_line(bh_status status, std::string_view what);
    // Throws RunError(error_line(...)) unless status is BH_OK.
    void check(bh_status status, std::string_view what);

private:
    const LoadedPlugin& plugin_;
    BoundOptions options_;
    StageHost host_;
    void* instance_ = nullptr;
};

std::string status_name(bh_status status);

}  // namespace backhaul
