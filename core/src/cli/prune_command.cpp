// `backhaul prune PIPELINE [--dry-run] [--delete-incomplete] [--sink NAME]`: apply [retention] now, on each sink,
// printing every decision.
#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/command_line.hpp"
#include "cli/run_report.hpp"
#include "engine/backup_catalog.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/retention_apply.hpp"
#include "engine/run_lock.hpp"
#include "engine/secret_store.hpp"
#include "engine/signal_watch.hpp"
#include "engine/sink_store.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

struct PruneOptions {
    std::string file;
    bool dry_run = false;
    bool delete_incomplete = false;
    std::optional<std::string> sink;
};

int prune(const PruneOptions& options, const GlobalOptions& global) {
    PluginRegistry registry;
    auto plan = plan_pipeline(options.file, registry);
    if (!plan->retention)
        throw ConfigError(SourcePosition{plan->spec.file, 0, 0}, "prune: the pipeline has no [retention] table");
    std::vector<const SinkPlan*> sinks;
    if (options.sink)
        sinks.push_back(&plan->sink_named(*options.sink));
    else
        for (const SinkPlan& sink : plan->sinks) sinks.push_back(&sink);
    RunOutcome outcome;
    outcome.pipeline = plan->spec.name;
    outcome.started = std::chrono::system_clock::now();
    RunControl control;
    SignalWatch signals(control);
    SecretStore secrets;
    bool fetched = false;
    try {
        // A prune must not race a run's own retention (or a run's upload of what is about to become the newest).
        RunLock lock(*plan, outcome.started);
        secrets.fetch_all(*plan, control);
        fetched = true;
        // Each sink on its own listing: a copy missing on one sink (it failed that night) leaves that sink's
        // older backups in place. A sink that fails does not keep the others from being pruned.
        std::string failures;
        for (const SinkPlan* sink : sinks) {
            RetentionOutcome result;
            try {
                std::unique_ptr<PluginInstance> instance = create_stage(sink->stage, secrets, control);
                SinkStore store(*sink, *instance);
                result =
                    apply_retention(*plan, *plan->retention, store, outcome.started,
                                    retention_scope(*plan, std::nullopt, options.delete_incomplete), options.dry_run);
            } catch (const RunError& e) {
                if (sinks.size() == 1 || control.cancelled()) throw;
                failures += (failures.empty() ? "" : "; ") + ("sink '" + sink->name() + "': " + e.what());
                Log::error("prune of sink '" + sink->name() + "' failed: " + e.what());
                continue;
            }
            if (global.quiet) continue;
            const std::string where = plan->sinks.size() > 1 ? " sink '" + sink->name() + "'" : "";
            if (!where.empty()) std::printf("%s%s:\n", sink == sinks.front() ? "" : "\n", where.c_str() + 1);
            const char* deleting = options.dry_run ? "would delete" : "delete";
            size_t deletes = 0;
            for (const RetentionDecision& d : result.plan.backups) {
                const std::string set = set_summary(d.backup);
                std::printf("%-7s %s%s  (%s)\n", d.keep ? "keep" : deleting, d.backup.key.c_str(),
                            set.empty() ? "" : ("  [" + set + "]").c_str(), d.reason.c_str());
                if (!d.keep) ++deletes;
            }
            for (const OrphanDecision& d : result.plan.orphans)
                std::printf("%-7s %s  (%s)\n", d.keep ? "keep" : deleting, d.orphan.key.c_str(), d.reason.c_str());
            std::printf("%s%s: kept %zu, %s %zu\n", plan->spec.name.c_str(), where.c_str(),
                        result.plan.backups.size() - deletes, options.dry_run ? "would delete" : "deleted", deletes);
        }
        if (!failures.empty()) throw RunError(failures);
        return 0;
    } catch (const LockBusy& e) {
        return report_failure(*plan, nullptr, outcome, e.what(), ExitCode::locked);
    } catch (const ConfigError& e) {
        // A plugin refused its options once secrets were fetched: exit 2, like validate.
        return report_failure(*plan, fetched ? &secrets : nullptr, outcome, e.what(), ExitCode::usage);
    } catch (const std::exception& e) {
        return report_failure(*plan, fetched ? &secrets : nullptr, outcome, std::string("prune failed: ") + e.what());
    }
}

}  // namespace

void add_prune_command(CommandLine& cli) {
    auto options = std::make_shared<PruneOptions>();
    CLI::App& command = cli.add_command("prune", "apply [retention] now; print what is kept and deleted, and why",
                                        [options](const Invocation& call) { return prune(*options, call.global); });
    add_pipeline_argument(command, options->file);
    command.add_flag("--dry-run", options->dry_run, "print the decisions, delete nothing");
    command.add_flag("--delete-incomplete", options->delete_incomplete,
                     "also delete incomplete backups older than incomplete_after (docs/retention.md)");
    command.add_option("--sink", options->sink, "prune only sink NAME (default: every sink, each on its own listing)")
        ->type_name("NAME");
}

}  // namespace backhaul
