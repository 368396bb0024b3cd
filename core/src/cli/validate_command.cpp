// `backhaul validate PIPELINE`: everything `run` checks before it touches anything (no network, no plugin I/O).
#include <cstdio>

#include "cli/command_line.hpp"
#include "engine/pipeline_plan.hpp"

namespace backhaul {
namespace {

int validate(const std::string& file, const GlobalOptions& global) {
    PluginRegistry registry;
    auto plan = plan_pipeline(file, registry);
    if (global.quiet) return 0;
    const std::string set =
        plan->source_set ? " (a set, " + std::to_string(plan->spec.jobs) + " stream(s) at once)" : "";
    // One sink: "sink sink-local"; several: "sinks local (sink-local), offsite (sink-s3, not required)".
    std::string sinks = plan->sinks.size() == 1 ? "sink " + plan->sinks.front().spec->stage.plugin : "sinks ";
    if (plan->sinks.size() > 1)
        for (const SinkPlan& sink : plan->sinks)
            sinks += std::string(&sink == &plan->sinks.front() ? "" : ", ") + sink.name() + " (" +
                     sink.spec->stage.plugin + (sink.spec->required ? "" : ", not required") + ")";
    std::printf(
        "%s: pipeline '%s' is valid (%zu secret(s), source %s%s, %zu transform(s), %s, %zu notifier(s), "
        "retention %s)\n",
        file.c_str(), plan->spec.name.c_str(), plan->secrets.size(), plan->spec.source.plugin.c_str(), set.c_str(),
        plan->transforms.size(), sinks.c_str(), plan->notifiers.size(), plan->retention ? "on" : "off");
    std::printf("  %s\n", plan->memory.summary().c_str());
    return 0;
}

}  // namespace

void add_validate_command(CommandLine& cli) {
    auto file = std::make_shared<std::string>();
    CLI::App& command =
        cli.add_command("validate", "check a pipeline file and its plugins' options (no network, no plugin I/O)",
                        [file](const Invocation& call) { return validate(*file, call.global); });
    add_pipeline_argument(command, *file);
}

}  // namespace backhaul
