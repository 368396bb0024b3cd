// `backhaul run PIPELINE [--metrics-file PATH] [--no-progress]`: lock, timeout, backup with manifest, retention, then
// summary, notifications and metrics on every path out, including an invalid pipeline, a plugin that does not load and
// a held lock.
#include <backhaul/common/human_bytes.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/command_line.hpp"
#include "cli/run_report.hpp"
#include "engine/notification.hpp"
#include "engine/pipeline_run.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/progress_line.hpp"
#include "engine/retention_apply.hpp"
#include "engine/run_deadline.hpp"
#include "engine/run_lock.hpp"
#include "engine/secret_store.hpp"
#include "engine/signal_watch.hpp"
#include "engine/sink_store.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

// Retention on the sink of one complete copy, on that sink's own listing.
void apply_retention_after_backup(const PipelinePlan& plan, const SinkPlan& destination, const RunControl& control,
                                  const ValueResolver& secrets, const SinkCopyResult& copy) {
    std::unique_ptr<PluginInstance> sink = create_stage(destination.stage, secrets, control);
    SinkStore store(destination, *sink);
    RetentionOutcome outcome = apply_retention(plan, *plan.retention, store, std::chrono::system_clock::now(),
                                               retention_scope(plan, copy.identity, false), false);
    const std::string where =
        plan.sinks.size() > 1 ? "retention on sink '" + destination.name() + "': " : "retention: ";
    size_t kept = 0;
    for (const RetentionDecision& d : outcome.plan.backups) {
        if (d.keep) {
            ++kept;
            continue;
        }
        Log::info(where + "deleted '" + d.backup.key + "' (" + d.reason + ")");
    }
    for (const OrphanDecision& d : outcome.plan.orphans)
        if (!d.keep) Log::info(where + "deleted '" + d.orphan.key + "' (" + d.reason + ")");
    Log::info(where + "kept " + std::to_string(kept) + ", deleted " + std::to_string(outcome.deleted));
}

// Which copies exist, into the outcome; "" or why the run fails for its copies: a required sink whose copy failed.
std::string record_copies(const PipelinePlan& plan, const BackupResult& result, RunOutcome& outcome) {
    outcome.complete_sinks.clear();
    outcome.failed_sinks.clear();
    std::string failed;
    for (size_t i = 0; i < plan.sinks.size(); ++i) {
        const SinkCopyResult* copy = i < result.copies.size() ? &result.copies[i] : nullptr;
        if (copy && copy->manifest_written) {
            outcome.complete_sinks.push_back(plan.sinks[i].name());
            continue;
        }
        outcome.failed_sinks.push_back(plan.sinks[i].name());
        if (copy && !copy->error.empty() && copy->required)
            failed += (failed.empty() ? "" : "; ") + ("sink '" + copy->sink + "' failed: " + copy->error);
    }
    return failed;
}

struct RunOptions {
    std::string file;
    std::optional<std::filesystem::path> metrics_file;
    bool no_progress = false;
};

int run(const RunOptions& options, const GlobalOptions& global) {
    const std::string& file = options.file;
    const std::optional<std::filesystem::path>& metrics_file = options.metrics_file;

    RunOutcome outcome;
    outcome.started = std::chrono::system_clock::now();
    auto failed_before_plan = [&](const std::exception& e, ExitCode code) {
        outcome.error = Log::scrub(e.what());
        if (const auto* config = dynamic_cast<const ConfigError*>(&e))
            print_config_error(*config);
        else
            Log::print(BH_LOG_ERROR, "backhaul: " + outcome.error);
        outcome.finished = std::chrono::system_clock::now();
        send_notifications_without_plan(file, outcome);
        if (!outcome.pipeline.empty()) log_run_summary(outcome);
        write_metrics_if_asked(metrics_file, outcome);
        return static_cast<int>(code);
    };

    PluginRegistry registry;
    std::unique_ptr<PipelinePlan> plan;
    try {
        plan = plan_pipeline(file, registry);
    } catch (const ConfigError& e) {
        return failed_before_plan(e, ExitCode::usage);
    } catch (const PluginLoadError& e) {
        return failed_before_plan(e, ExitCode::plugin_load);
    }
    outcome.pipeline = plan->spec.name;
    outcome.set = plan->source_set;

    RunControl control;
    SignalWatch signals(control);
    SecretStore secrets;
    bool secrets_fetched = false;
    BackupProgress progress;
    BackupResult result;
    ExitCode code = ExitCode::run_failed;
    try {
        RunLock lock(*plan, outcome.started);
        std::optional<RunDeadline> deadline;
        if (plan->spec.timeout_ms)
            deadline.emplace(control, std::chrono::milliseconds(*plan->spec.timeout_ms),
                             human_duration(*plan->spec.timeout_ms));
        secrets.fetch_all(*plan, control);
        secrets_fetched = true;
        {
            ProgressLine line(progress, ProgressLine::wanted() && !options.no_progress && !global.quiet);
            run_backup(*plan, control, secrets, outcome.started, progress, result);
        }
        outcome.backup_complete = true;
        const std::string failed_copies = record_copies(*plan, result, outcome);
        outcome.shrunken = result.shrunken;
        if (result.shrunken)
            Log::warn("backup '" + result.key + "' is shrunken: " + common::human_bytes(result.raw_bytes) +
                      " raw is below " + std::to_string(static_cast<int>(plan->spec.shrink_threshold * 100)) +
                      "% of the " + common::human_bytes(result.shrunken->baseline_raw_bytes) + " of '" +
                      result.shrunken->baseline_key +
                      "'; it is kept and takes no keep_* slot, so older backups stay (docs/retention.md)");
        // A signal or the timeout that arrived during the commit was held back until the manifest was written.
        if (control.cancelled())
            throw RunError("backup '" + result.key + "' is complete, but the run was then stopped (" +
                           control.error().value_or("cancelled") + "); retention did not run");
        // Each complete copy's sink on its own listing; a sink whose copy failed keeps everything it has.
        std::string retention_failed;
        if (plan->retention) {
            for (size_t i = 0; i < plan->sinks.size(); ++i) {
                if (!result.copies[i].manifest_written) continue;
                try {
                    apply_retention_after_backup(*plan, plan->sinks[i], control, secrets, result.copies[i]);
                } catch (const std::exception& e) {
                    const std::string where = plan->sinks.size() > 1 ? " on sink '" + plan->sinks[i].name() + "'" : "";
                    retention_failed +=
                        (retention_failed.empty() ? "" : "; ") + ("retention failed" + where + ": " + e.what());
                }
            }
        }
        if (!failed_copies.empty()) {
            std::string complete;
            for (const std::string& name : outcome.complete_sinks)
                complete += (complete.empty() ? "'" : ", '") + name + "'";
            throw RunError(failed_copies + " (complete copies of '" + result.key + "' on " + complete + ")" +
                           (retention_failed.empty() ? "" : "; " + retention_failed));
        }
        if (!retention_failed.empty())
            throw RunError("backup '" + result.key + "' is complete, but " + retention_failed);
        outcome.success = true;
        code = ExitCode::success;
    } catch (const LockBusy& e) {
        outcome.error = e.what();
        Log::error(outcome.error);
        code = ExitCode::locked;
    } catch (const ConfigError& e) {
        // A plugin refused its options once secrets were fetched: nothing ran, and it is the file's to fix.
        outcome.error = Log::scrub(e.what());
        Log::error("backup failed, nothing committed: " + outcome.error);
        code = ExitCode::usage;
    } catch (const std::exception& e) {
        outcome.error = Log::scrub(e.what());
        Log::error((result.data_committed ? "run failed: " : "backup failed, nothing committed: ") + outcome.error);
    }
    if (!outcome.backup_complete) record_copies(*plan, result, outcome);
    outcome.key = result.key;
    outcome.stream_count = result.stream_count;
    outcome.data_committed = result.data_committed;
    outcome.untouched_objects = result.untouched_objects;
    outcome.raw_bytes = std::max<uint64_t>(result.raw_bytes, progress.raw_bytes);
    // What the sink holds: what it was handed counts only once it was committed.
    outcome.stored_bytes = result.data_committed ? result.stored_bytes : 0;
    outcome.finished = std::chrono::system_clock::now();
    log_run_summary(outcome);
    report_run(*plan, secrets_fetched ? &secrets : nullptr, outcome, metrics_file);
    return static_cast<int>(code);
}

}  // namespace

void add_run_command(CommandLine& cli) {
    auto options = std::make_shared<RunOptions>();
    CLI::App& command = cli.add_command(
        "run",
        "run a backup; the object is committed only if every stage succeeded, then its manifest is written and "
        "[retention] applied",
        [options](const Invocation& call) { return run(*options, call.global); });
    add_pipeline_argument(command, options->file);
    command
        .add_option("--metrics-file", options->metrics_file, "write Prometheus metrics of the run to PATH (atomically)")
        ->type_name("PATH");
    command.add_flag("--no-progress", options->no_progress, "no progress line on a terminal");
}

}  // namespace backhaul
