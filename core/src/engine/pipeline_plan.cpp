#include "engine/pipeline_plan.hpp"

#include <cstdlib>

#include "config/option_binding.hpp"
#include "errors.hpp"

namespace backhaul {

std::optional<std::string> ValidationResolver::env(const std::string& name) const {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
}

namespace {

const char* article_kind(bh_kind kind) {
    switch (kind) {
        case BH_KIND_SECRET: return "a secret";
        case BH_KIND_SOURCE: return "a source";
        case BH_KIND_TRANSFORM: return "a transform";
        case BH_KIND_SINK: return "a sink";
        case BH_KIND_NOTIFIER: return "a notifier";
        default: return "an unknown kind of plugin";
    }
}

StagePlan resolve_stage(const StageSpec& stage, const PluginRegistry& registry) {
    const LoadedPlugin* plugin = registry.find(stage.plugin);
    if (!plugin) {
        std::string known;
        for (const LoadedPlugin* p : registry.plugins())
            if (p->descriptor->kind == stage.kind) known += (known.empty() ? "" : ", ") + std::string(p->descriptor->name);
        throw ConfigError(stage.plugin_where, stage.label + ": unknown plugin '" + stage.plugin + "' (installed " +
                                                  kind_name(stage.kind) + " plugins: " +
                                                  (known.empty() ? "none" : known) + ")");
    }
    if (plugin->descriptor->kind != stage.kind)
        throw ConfigError(stage.plugin_where, stage.label + ": plugin '" + stage.plugin + "' is " +
                                                  article_kind(plugin->descriptor->kind) + ", not " +
                                                  article_kind(stage.kind));
    return StagePlan{&stage, plugin};
}

void check_options(const StagePlan& stage, const ValueResolver& resolver) {
    const bh_plugin_descriptor& d = *stage.plugin->descriptor;
    bind_options(*stage.spec, d.name, d.options, d.option_count, resolver);
}

}  // namespace

NotifierPlan plan_notifier(StageSpec& stage, const std::string& file, const PluginRegistry& registry,
                           const ValueResolver& resolver) {
    NotifyEvents events = take_notify_events(stage, file);
    NotifierPlan plan{resolve_stage(stage, registry), events};
    check_options(plan.stage, resolver);
    return plan;
}

std::vector<NotifierPlan> plan_notifiers(PipelineSpec& spec, const PluginRegistry& registry,
                                         const ValueResolver& resolver) {
    std::vector<NotifierPlan> notifiers;
    for (StageSpec& stage : spec.notifiers) notifiers.push_back(plan_notifier(stage, spec.file, registry, resolver));
    return notifiers;
}

std::unique_ptr<PipelinePlan> plan_pipeline(const std::filesystem::path& file, PluginRegistry& registry) {
    auto plan = std::make_unique<PipelinePlan>();
    plan->spec = parse_pipeline_file(file);
    const PipelineSpec& spec = plan->spec;

    std::filesystem::path dir = std::filesystem::absolute(file).parent_path();
    for (const std::filesystem::path& d : plugin_search_path(spec.plugin_path, dir)) registry.load_directory(d);

    std::set<std::string> secret_ids;
    for (const auto& [id, stage] : spec.secrets) {
        plan->secrets.push_back(resolve_stage(stage, registry));
        secret_ids.insert(id);
    }
    plan->source = resolve_stage(spec.source, registry);
    for (const StageSpec& t : spec.transforms) plan->transforms.push_back(resolve_stage(t, registry));
    plan->sink = resolve_stage(spec.sink, registry);

    // Secrets are fetched before anything else exists, so their own options may use ${env:...} only.
    ValidationResolver env_only({});
    for (const StagePlan& s : plan->secrets) check_options(s, env_only);
    ValidationResolver resolver(secret_ids);
    check_options(plan->source, resolver);
    for (const StagePlan& t : plan->transforms) check_options(t, resolver);
    check_options(plan->sink, resolver);

    plan->notifiers = plan_notifiers(plan->spec, registry, resolver);
    if (spec.retention) plan->retention = parse_retention_policy(*spec.retention, spec.file);

    plan->key = KeyTemplate::parse(spec.key_template, spec.key_where);
    std::set<std::string> known = {"pipeline", "ext"};
    auto add_vars = [&](const StagePlan& s) {
        for (const char* const* v = s.plugin->descriptor->variables; v && *v; ++v) known.insert(*v);
    };
    add_vars(plan->source);
    for (const StagePlan& t : plan->transforms) add_vars(t);
    add_vars(plan->sink);
    for (const std::string& var : plan->key.variables()) {
        if (known.count(var)) continue;
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        throw ConfigError(spec.key_where, "sink: key uses {" + var + "}, which no stage publishes (available: " +
                                              list + ")");
    }
    return plan;
}

}  // namespace backhaul
