#include "engine/pipeline_stages.hpp"

#include <algorithm>

#include "config/option_binding.hpp"
#include "util/log.hpp"

namespace backhaul {

std::vector<PluginInstance*> transform_chain(const std::vector<std::unique_ptr<PluginInstance>>& transforms,
                                             bool reversed) {
    std::vector<PluginInstance*> chain;
    for (const auto& t : transforms) chain.push_back(t.get());
    if (reversed) std::reverse(chain.begin(), chain.end());
    return chain;
}

std::vector<PluginInstance*> PipelineStages::transform_chain(bool reversed) const {
    return backhaul::transform_chain(transforms, reversed);
}

std::vector<std::unique_ptr<PluginInstance>> create_transforms(const PipelinePlan& plan, const ValueResolver& resolver,
                                                               const RunControl& control) {
    std::vector<std::unique_ptr<PluginInstance>> transforms;
    for (const StagePlan& t : plan.transforms) transforms.push_back(create_stage(t, resolver, control));
    return transforms;
}

std::unique_ptr<PluginInstance> create_stage(const StagePlan& stage, const ValueResolver& resolver,
                                             const RunControl& control) {
    BoundOptions options = bind_stage_options(stage, resolver);
    for (const std::string& s : options.secret_values()) Log::add_secret(s);
    return std::make_unique<PluginInstance>(*stage.plugin, *stage.spec, std::move(options), control,
                                            stage.memory_share);
}

PipelineStages create_stages(const PipelinePlan& plan, const ValueResolver& resolver, const RunControl& control,
                             StageSelection selection, const SinkPlan* sink) {
    PipelineStages stages;
    if (selection == StageSelection::all) stages.source = create_stage(plan.source, resolver, control);
    if (selection != StageSelection::sink_only) stages.transforms = create_transforms(plan, resolver, control);
    if (sink) stages.sink = create_stage(sink->stage, resolver, control);
    return stages;
}

}  // namespace backhaul
