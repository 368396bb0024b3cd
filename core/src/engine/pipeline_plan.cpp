#include "engine/pipeline_plan.hpp"

#include <cstdlib>
#include <functional>

#include "config/option_binding.hpp"
#include "errors.hpp"
#include "loader/plugin_handle.hpp"

namespace backhaul {

std::optional<std::string> ValidationResolver::env(const std::string& name) const {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
}

namespace {

const char* article_kind(bh_kind kind) {
    switch (kind) {
        case BH_KIND_SECRET:
            return "a secret";
        case BH_KIND_SOURCE:
            return "a source";
        case BH_KIND_TRANSFORM:
            return "a transform";
        case BH_KIND_SINK:
            return "a sink";
        case BH_KIND_NOTIFIER:
            return "a notifier";
        default:
            return "an unknown kind of plugin";
    }
}

// A stage whose plugin cannot be used becomes a problem and a StagePlan without plugin, which later steps skip.
StagePlan resolve_stage(const StageSpec& stage, const PluginRegistry& registry, ConfigProblems& problems) {
    if (stage.plugin.empty()) return StagePlan{&stage, nullptr};  // its table already has a problem
    const LoadedPlugin* plugin = registry.find(stage.plugin);
    if (!plugin) {
        std::string known;
        for (const LoadedPlugin* p : registry.plugins())
            if (p->descriptor->kind == stage.kind)
                known += (known.empty() ? "" : ", ") + std::string(p->descriptor->name);
        problems.add(stage.plugin_where, stage.label + ": unknown plugin '" + stage.plugin + "' (installed " +
                                             kind_name(stage.kind) + " plugins: " + (known.empty() ? "none" : known) +
                                             ")");
        return StagePlan{&stage, nullptr};
    }
    if (plugin->descriptor->kind != stage.kind) {
        problems.add(stage.plugin_where, stage.label + ": plugin '" + stage.plugin + "' is " +
                                             article_kind(plugin->descriptor->kind) + ", not " +
                                             article_kind(stage.kind));
        return StagePlan{&stage, nullptr};
    }
    return StagePlan{&stage, plugin};
}

// The plugin's validate entry (ABI 1.2) on the bound options; each problem it reports at its option's value, or at
// the stage's table for the stage as a whole (or an option the file does not set).
void run_plugin_validate(const StagePlan& stage, const BoundOptions& bound, ConfigProblems& problems) {
    const StageSpec& spec = *stage.spec;
    const std::string stage_name = spec.label + " (" + std::string(stage.plugin->name()) + ")";
    const std::vector<bh_option_value> values = bound.validate_values();
    validate_options(*stage.plugin->descriptor, values, [&](std::string_view option, std::string_view message) {
        const std::string text(message);
        if (option.empty()) {
            problems.add(spec.where, stage_name + ": " + text);
            return;
        }
        const std::string about = stage_name + ": option '" + std::string(option) + "': " + text;
        for (const OptionEntry& entry : spec.options) {
            if (entry.name != option) continue;
            problems.add(position_of(*entry.value, spec.where.file), about);
            return;
        }
        problems.add(spec.where, about);
    });
}

// `also` sees the bound options after the plugin's own validation.
void check_options(const StagePlan& stage, const ValueResolver& resolver, ConfigProblems& problems,
                   const std::function<void(const BoundOptions&)>& also = {}) {
    if (!stage.plugin) return;
    problems.attempt([&] {
        const bh_plugin_descriptor& d = *stage.plugin->descriptor;
        const BoundOptions bound =
            bind_options(*stage.spec, d.name, d.options, d.option_count, resolver, stage.plugin->limits(), &problems);
        run_plugin_validate(stage, bound, problems);
        if (also) also(bound);
    });
}

NotifierPlan plan_notifier(StageSpec& stage, const std::string& file, const PluginRegistry& registry,
                           const ValueResolver& resolver, ConfigProblems& problems) {
    NotifyEvents events;
    problems.attempt([&] { events = take_notify_events(stage, file); });
    NotifierPlan plan{resolve_stage(stage, registry, problems), events};
    check_options(plan.stage, resolver, problems);
    return plan;
}

}  // namespace

BoundOptions bind_stage_options(const StagePlan& stage, const ValueResolver& resolver) {
    const bh_plugin_descriptor& d = *stage.plugin->descriptor;
    return bind_options(*stage.spec, d.name, d.options, d.option_count, resolver, stage.plugin->limits());
}

NotifierPlan plan_notifier(StageSpec& stage, const std::string& file, const PluginRegistry& registry,
                           const ValueResolver& resolver) {
    ConfigProblems problems;
    NotifierPlan plan = plan_notifier(stage, file, registry, resolver, problems);
    problems.throw_if_any();
    return plan;
}

std::vector<NotifierPlan> plan_notifiers(PipelineSpec& spec, const PluginRegistry& registry,
                                         const ValueResolver& resolver) {
    ConfigProblems problems;
    std::vector<NotifierPlan> notifiers;
    for (StageSpec& stage : spec.notifiers)
        notifiers.push_back(plan_notifier(stage, spec.file, registry, resolver, problems));
    problems.throw_if_any();
    return notifiers;
}

// The sink's key template, checked against what the stages publish (or, for a set, against the set rule).
static void plan_key(PipelinePlan& plan, SinkPlan& sink, ConfigProblems& problems) {
    const SinkSpec& spec = *sink.spec;
    sink.key = KeyTemplate::parse(spec.key_template, spec.key_where);
    if (plan.source_set) {
        // One key for the whole set: a stream's variables ({database}) differ per stream, and each stream's
        // object is named after its stream below the set key.
        for (const std::string& var : sink.key.variables())
            if (var != "pipeline")
                problems.add(spec.key_where, sink.label() + ": key uses {" + var +
                                                 "}, but the source backs up a set "
                                                 "of streams, whose key names the whole set: use only {pipeline} and "
                                                 "the % time fields (docs/sets.md)");
        return;
    }
    std::set<std::string> known = {"pipeline", "ext"};
    bool all_stages_known = plan.source.plugin && sink.stage.plugin;
    auto add_vars = [&](const StagePlan& s) {
        if (!s.plugin) return;
        for (const char* const* v = s.plugin->descriptor->variables; v && *v; ++v) known.insert(*v);
    };
    add_vars(plan.source);
    for (const StagePlan& t : plan.transforms) {
        add_vars(t);
        all_stages_known = all_stages_known && t.plugin;
    }
    add_vars(sink.stage);
    // A stage that could not be resolved might publish the variable: no second guess about it.
    if (!all_stages_known) return;
    for (const std::string& var : sink.key.variables()) {
        if (known.count(var)) continue;
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        problems.add(spec.key_where,
                     sink.label() + ": key uses {" + var + "}, which no stage publishes (available: " + list + ")");
    }
}

const SinkPlan& PipelinePlan::sink_named(const std::string& name) const {
    std::string names;
    for (const SinkPlan& sink : sinks) {
        if (sink.name() == name) return sink;
        names += (names.empty() ? "'" : ", '") + sink.name() + "'";
    }
    throw UsageError("pipeline '" + spec.name + "' has no sink '" + name + "' (its sinks: " + names + ")");
}

// Splits memory_budget between the engine and the stages that size their buffers from a share (docs/memory.md).
static void plan_stage_memory(PipelinePlan& plan, ConfigProblems& problems) {
    std::vector<StagePlan*> buffering;
    for (StagePlan& transform : plan.transforms) buffering.push_back(&transform);
    for (SinkPlan& sink : plan.sinks) buffering.push_back(&sink.stage);
    std::erase_if(buffering, [](const StagePlan* stage) { return !stage->plugin || stage->plugin->memory_min() == 0; });
    std::vector<MemoryDemand> demands;
    for (const StagePlan* stage : buffering)
        demands.push_back(
            {stage->spec->label + " (" + stage->plugin->descriptor->name + ")", stage->plugin->memory_min()});
    plan.memory = plan_memory(plan.spec, plan.source_set, plan.transforms.size(), plan.sinks.size(), demands, problems);
    for (size_t i = 0; i < buffering.size(); ++i) buffering[i]->memory_share = plan.memory.shares[i].second;
}

std::unique_ptr<PipelinePlan> plan_pipeline(const std::filesystem::path& file, PluginRegistry& registry) {
    auto plan = std::make_unique<PipelinePlan>();
    // Every problem that can be found is collected, so one `validate` reports them all; only a TOML syntax error
    // (nothing after it can be read) or a plugin that cannot be loaded (exit 3) stops at once.
    ConfigProblems problems;
    plan->spec = parse_pipeline_file(file, problems);
    PipelineSpec& spec = plan->spec;

    std::filesystem::path dir = std::filesystem::absolute(file).parent_path();
    for (const std::filesystem::path& d : plugin_search_path(spec.plugin_path, dir)) registry.load_directory(d);

    std::set<std::string> secret_ids;
    for (const auto& [id, stage] : spec.secrets) {
        plan->secrets.push_back(resolve_stage(stage, registry, problems));
        secret_ids.insert(id);
    }
    plan->source = resolve_stage(spec.source, registry, problems);
    for (const StageSpec& t : spec.transforms) plan->transforms.push_back(resolve_stage(t, registry, problems));
    for (const SinkSpec& sink : spec.sinks)
        plan->sinks.push_back(SinkPlan{&sink, resolve_stage(sink.stage, registry, problems), {}});

    // Secrets are fetched before anything else exists, so their own options may use ${env:...} only.
    ValidationResolver env_only({});
    for (const StagePlan& s : plan->secrets) check_options(s, env_only, problems);
    ValidationResolver resolver(secret_ids);
    check_options(plan->source, resolver, problems, [&](const BoundOptions& bound) {
        plan->source_set = produces_set(*plan->source.plugin->descriptor, bound.validate_values());
    });
    for (const StagePlan& t : plan->transforms) check_options(t, resolver, problems);
    // Each sink's bound options as text, to find two sinks that would write one copy twice.
    std::vector<std::optional<std::string>> sink_destinations;
    for (const SinkPlan& sink : plan->sinks) {
        std::optional<std::string> destination;
        check_options(sink.stage, resolver, problems, [&](const BoundOptions& bound) {
            std::string text = sink.spec->stage.plugin + "\n" + sink.spec->key_template + "\n";
            for (const auto& [name, value] : bound.display()) {
                // A value from a secret shows as a placeholder: two such sinks may well differ.
                if (value.find("<redacted>") != std::string::npos) return;
                text += name + "=" + value + "\n";
            }
            destination = text;
        });
        for (size_t i = 0; i < sink_destinations.size(); ++i)
            if (destination && sink_destinations[i] == destination)
                problems.add(sink.spec->name_where, "sink '" + sink.name() +
                                                        "' has the plugin, options and key of sink '" +
                                                        plan->sinks[i].name() +
                                                        "': both would write the same objects, so there would be "
                                                        "one copy, not two; point it elsewhere or remove it");
        sink_destinations.push_back(destination);
    }

    for (StageSpec& stage : spec.notifiers)
        plan->notifiers.push_back(plan_notifier(stage, spec.file, registry, resolver, problems));
    if (spec.retention) problems.attempt([&] { plan->retention = parse_retention_policy(*spec.retention, spec.file); });

    for (SinkPlan& sink : plan->sinks) {
        if (sink.spec->key_template.empty()) continue;
        problems.attempt([&] { plan_key(*plan, sink, problems); });
    }
    plan_stage_memory(*plan, problems);
    problems.throw_if_any();
    return plan;
}

}  // namespace backhaul
