// A pipeline file checked against the plugins it names: every plugin loaded and of the right kind, every option
// validated against its plugin's table, every ${...} reference and key-template variable resolvable. Building a plan
// runs no plugin code beyond reading descriptors, so `backhaul validate` does no network or plugin I/O.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/interpolation.hpp"
#include "config/key_template.hpp"
#include "config/notify_events.hpp"
#include "config/option_binding.hpp"
#include "config/pipeline_spec.hpp"
#include "config/retention_policy.hpp"
#include "engine/memory_plan.hpp"
#include "loader/plugin_registry.hpp"

namespace backhaul {

struct StagePlan {
    const StageSpec* spec;
    const LoadedPlugin* plugin;
    // Bytes of the memory budget this stage's buffers may hold per stream (bh_host.memory_share); 0 for a stage that
    // takes no share (docs/memory.md).
    uint64_t memory_share = 0;
};

struct NotifierPlan {
    StagePlan stage;
    NotifyEvents events;
};

// One destination of the pipeline: its stage, key and whether its copy must succeed (SinkSpec).
struct SinkPlan {
    const SinkSpec* spec = nullptr;
    StagePlan stage{};
    KeyTemplate key;

    const std::string& name() const { return spec->name; }
    const std::string& label() const { return spec->stage.label; }
};

struct PipelinePlan {
    PipelineSpec spec;
    std::vector<StagePlan> secrets;  // in file order; secrets[i] is spec.secrets[i]
    StagePlan source{};
    std::vector<StagePlan> transforms;
    // spec.sinks, in file order: a backup writes a copy to each, every other command works on one (--sink NAME).
    std::vector<SinkPlan> sinks;
    std::vector<NotifierPlan> notifiers;       // spec.notifiers with `on` taken out of their options
    std::optional<RetentionPolicy> retention;  // nullopt = never delete anything
    // The source's options make a backup set of several streams (ABI 1.3 produces_set, docs/sets.md): `key` then
    // names the set, and uses only {pipeline} and the time fields.
    bool source_set = false;
    MemoryPlan memory;  // how memory_budget is split; set once every stage is resolved

    // The sink called `name`; UsageError (exit 2) naming the pipeline's sinks if there is none.
    const SinkPlan& sink_named(const std::string& name) const;

    PipelinePlan() = default;
    PipelinePlan(const PipelinePlan&) = delete;  // StagePlan points into spec
    PipelinePlan& operator=(const PipelinePlan&) = delete;
};

// Parses `file`, loads the plugin search path into `registry` and validates: the file's shape, every stage's plugin,
// options (types, limits, the plugin's validate entry), notifier events, retention, the key template's variables.
// Throws ConfigError (exit 2) with every problem found, in file order, or PluginLoadError (exit 3).
std::unique_ptr<PipelinePlan> plan_pipeline(const std::filesystem::path& file, PluginRegistry& registry);

// The notifiers of `spec` (taking `on` out of their options), resolved against `registry` and with their options
// validated through `resolver`. Used by plan_pipeline, and on its own to notify about a pipeline whose plan failed.
std::vector<NotifierPlan> plan_notifiers(PipelineSpec& spec, const PluginRegistry& registry,
                                         const ValueResolver& resolver);
// One of them. ConfigError as plan_pipeline.
NotifierPlan plan_notifier(StageSpec& stage, const std::string& file, const PluginRegistry& registry,
                           const ValueResolver& resolver);

// The stage's options bound as `run` binds them: types, the plugin's limits, interpolation through `resolver`.
// ConfigError with every problem of the stage.
BoundOptions bind_stage_options(const StagePlan& stage, const ValueResolver& resolver);

// Resolves ${env:...} from the process environment and treats ${secret:ID.FIELD} as "defined if [secrets.ID] is":
// the values are fetched only by a run.
class ValidationResolver : public ValueResolver {
  public:
    explicit ValidationResolver(std::set<std::string> secret_ids) : secret_ids_(std::move(secret_ids)) {}
    std::optional<std::string> env(const std::string& name) const override;
    bool has_secret(const std::string& id) const override { return secret_ids_.count(id) != 0; }
    std::optional<std::string> secret(const std::string&, const std::string&) const override { return std::nullopt; }

  private:
    std::set<std::string> secret_ids_;
};

}  // namespace backhaul
