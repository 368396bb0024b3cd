// The host-level `on` key of a [[notify]] table: which run outcomes the notifier is told about. `on` belongs to the
// host, not to the notifier plugin, so it is taken out of the stage's options before they are bound.
#pragma once

#include "config/pipeline_spec.hpp"

namespace backhaul {

struct NotifyEvents {
    bool success = false;
    bool failure = true;  // default: on = ["failure"]
};

// Removes `on` from `stage.options` and checks it: a non-empty array of distinct "success" / "failure".
// ConfigError "FILE:LINE:COL: notify[0]: 'on' ..." otherwise.
NotifyEvents take_notify_events(StageSpec& stage, const std::string& file);

}  // namespace backhaul
