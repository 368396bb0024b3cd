// The plugin instances of one run, created from a plan with the run's secrets: what backup, restore, verify, list
// and prune each need of them.
#pragma once

#include <memory>
#include <vector>

#include "config/interpolation.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/plugin_instance.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

struct PipelineStages {
    std::unique_ptr<PluginInstance> source;  // null unless asked for
    std::vector<std::unique_ptr<PluginInstance>> transforms;
    std::unique_ptr<PluginInstance> sink;  // of the SinkPlan asked for; null if none (a backup has one per copy)

    // Transforms in pipeline order (encode) or reversed (decode).
    std::vector<PluginInstance*> transform_chain(bool reversed) const;
};

// `transforms` in pipeline order (encode) or reversed (decode): what run_stream takes.
std::vector<PluginInstance*> transform_chain(const std::vector<std::unique_ptr<PluginInstance>>& transforms,
                                             bool reversed);

enum class StageSelection { all, without_source, sink_only };

// Binds each stage's options through `resolver` (the run's secrets) and creates it, with `sink` (one of plan.sinks,
// or null for none) as the sink. Throws RunError naming the stage.
PipelineStages create_stages(const PipelinePlan& plan, const ValueResolver& resolver, const RunControl& control,
                             StageSelection selection, const SinkPlan* sink);
// One instance of each of the plan's transforms, in pipeline order: create_stages's, and each stream's own in a set.
std::vector<std::unique_ptr<PluginInstance>> create_transforms(const PipelinePlan& plan, const ValueResolver& resolver,
                                                               const RunControl& control);
// Binds and creates one stage (also used for notifiers). Registers its secret values with the logger.
std::unique_ptr<PluginInstance> create_stage(const StagePlan& stage, const ValueResolver& resolver,
                                             const RunControl& control);

}  // namespace backhaul
