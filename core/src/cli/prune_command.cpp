// `backhaul prune PIPELINE [--dry-run] [--delete-incomplete]`: apply [retention] now, printing every decision.
#include <chrono>
#include <cstdio>

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

namespace backhaul {
namespace {

struct PruneOptions {
    std::string file;
    bool dry_run = false;
    bool delete_incomplete = false;
};

int prune(const PruneOptions& options, const GlobalOptions& global) {
    PluginRegistry registry;
    auto plan = plan_pipeline(options.file, registry);
    if (!plan->retention)
        throw ConfigError(SourcePosition{plan->spec.file, 0, 0}, "prune: the pipeline has no [retention] table");
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
        std::unique_ptr<PluginInstance> sink = create_stage(plan->sink, secrets, control);
        SinkStore store(*sink);
        RetentionOutcome result =
            apply_retention(*plan, *plan->retention, store, outcome.started,
                            retention_scope(*plan, std::nullopt, options.delete_incomplete), options.dry_run);
        if (global.quiet) return 0;
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
        std::printf("%s: kept %zu, %s %zu\n", plan->spec.name.c_str(), result.plan.backups.size() - deletes,
                    options.dry_run ? "would delete" : "deleted", deletes);
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
    CLI::App& command =
        cli.add_command("prune", "apply [retention] now; print what is kept and deleted, and why",
                        [options](const Invocation& call) { return prune(*options, call.global); });
    add_pipeline_argument(command, options->file);
    command.add_flag("--dry-run", options->dry_run, "print the decisions, delete nothing");
    command.add_flag("--delete-incomplete", options->delete_incomplete,
                     "also delete incomplete backups older than incomplete_after (docs/retention.md)");
}

}  // namespace backhaul
