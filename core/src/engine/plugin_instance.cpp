#include "engine/plugin_instance.hpp"

#include "errors.hpp"

namespace backhaul {

std::string status_name(bh_status status) {
    switch (status) {
        case BH_OK: return "ok";
        case BH_END_OF_STREAM: return "end of stream";
        case BH_RETRYABLE: return "retryable";
        case BH_FATAL: return "fatal";
        case BH_CANCELLED: return "cancelled";
        case BH_INVALID_CONFIG: return "invalid configuration";
        default: return "status " + std::to_string(status);
    }
}

PluginInstance::PluginInstance(const LoadedPlugin& plugin, const StageSpec& stage, BoundOptions options,
                               const RunControl& control)
    : plugin_(plugin),
      options_(std::move(options)),
      host_(stage.label + " (" + plugin.descriptor->name + ")", control) {
    bh_status status = plugin_.descriptor->create(host_.raw(), options_.data(), options_.size(), &instance_);
    if (status != BH_OK || !instance_) {
        instance_ = nullptr;
        // The plugin refused its options (with the real values of secrets, which validate could not see): a
        // configuration error at the stage, exit 2, like the ones validate reports.
        if (status == BH_INVALID_CONFIG) throw ConfigError(stage.where, error_line(status, "create"));
        throw RunError(error_line(status == BH_OK ? BH_FATAL : status, "create"));
    }
}

PluginInstance::~PluginInstance() {
    if (instance_) plugin_.descriptor->destroy(instance_);
}

std::string PluginInstance::error_line(bh_status status, std::string_view what) {
    std::string message = host_.take_error();
    if (message.empty()) message = std::string(what) + " failed (" + status_name(status) + ")";
    return host_.label() + ": " + message;
}

void PluginInstance::check(bh_status status, std::string_view what) {
    if (status != BH_OK) throw RunError(error_line(status, what));
}

}  // namespace backhaul
