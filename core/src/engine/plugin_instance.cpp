#include "engine/plugin_instance.hpp"

#include "errors.hpp"

namespace backhaul {

PluginInstance::PluginInstance(const LoadedPlugin& plugin, const StageSpec& stage, BoundOptions options,
                               const RunControl& control, uint64_t memory_share) try
    : InstanceParts{std::move(options),
                    StageHost(stage.label + " (" + plugin.descriptor->name + ")", control, memory_share)},
      PluginHandle(*plugin.descriptor, InstanceParts::host.label(), InstanceParts::host,
                   std::span<const bh_option_value>(InstanceParts::options.data(), InstanceParts::options.size())),
      plugin_(plugin) {
} catch (const StageFailure& e) {
    // The plugin refused its options (with the real values of secrets, which validate could not see): a
    // configuration error at the stage, exit 2, like the ones validate reports.
    if (e.error().status == BH_INVALID_CONFIG) throw ConfigError(stage.where, e.what());
}

}  // namespace backhaul
