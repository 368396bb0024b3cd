// One created plugin instance of a run: its bound options, its bh_host (StageHost) and the typed adapter over its C
// ABI (PluginHandle), created together and destroyed in reverse order (the plugin's destroy first).
#pragma once

#include <backhaul/plugin_abi.h>

#include <string>

#include "config/option_binding.hpp"
#include "engine/stage_host.hpp"
#include "loader/plugin_handle.hpp"
#include "loader/plugin_registry.hpp"

namespace backhaul {

namespace detail {
// Base-from-member: the options and the host exist before the PluginHandle base calls create with them.
struct InstanceParts {
    BoundOptions options;
    StageHost host;
};
}  // namespace detail

class PluginInstance : private detail::InstanceParts, public PluginHandle {
  public:
    // Calls the plugin's create(). Throws ConfigError at the stage's table if the plugin refuses its options
    // (BH_INVALID_CONFIG), else StageFailure if it fails (including a throwing constructor).
    // `memory_share`: the stage's part of the memory budget (StagePlan::memory_share), given to the plugin.
    PluginInstance(const LoadedPlugin& plugin, const StageSpec& stage, BoundOptions options, const RunControl& control,
                   uint64_t memory_share = 0);

    const LoadedPlugin& plugin() const { return plugin_; }
    StageHost& host() { return InstanceParts::host; }
    const BoundOptions& options() const { return InstanceParts::options; }

  private:
    const LoadedPlugin& plugin_;
};

}  // namespace backhaul
