// `backhaul list`, `verify` and `prune`: the pipeline's backups as its sink holds them.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/arguments.hpp"
#include "cli/run_report.hpp"
#include "engine/backup_catalog.hpp"
#include "engine/backup_verify.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/retention_apply.hpp"
#include "engine/run_lock.hpp"
#include "engine/secret_store.hpp"
#include "engine/signal_watch.hpp"
#include "engine/sink_store.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

std::string size_text(int64_t size) { return size < 0 ? "?" : human_bytes(static_cast<uint64_t>(size)); }

// Notifies (failures only) and logs for a command that failed after its plan was made.
int failed(const PipelinePlan& plan, const ValueResolver* secrets, RunOutcome& outcome, const std::string& error,
           ExitCode code = ExitCode::run_failed) {
    outcome.error = Log::scrub(error);
    outcome.finished = std::chrono::system_clock::now();
    Log::error(outcome.error);
    report_run(plan, secrets, outcome, std::nullopt);
    return static_cast<int>(code);
}

}  // namespace

int cmd_list(const Arguments& args) {
    std::string file = pipeline_argument(args, "backhaul list PIPELINE [--json]");
    parse_flags(args.rest, {}, "list");
    PluginRegistry registry;
    auto plan = plan_pipeline(file, registry);
    RunControl control;
    SignalWatch signals(control);
    try {
        SecretStore secrets;
        secrets.fetch_all(*plan, control);
        std::unique_ptr<PluginInstance> sink = create_stage(plan->sink, secrets, control);
        SinkStore store(*sink);
        BackupCatalog catalog = list_backups(*plan, store);
        if (args.json) {
            nlohmann::ordered_json out = nlohmann::ordered_json::array();
            for (const BackupEntry& b : catalog.backups) {
                int64_t ms = unix_ms(b.time);
                nlohmann::ordered_json entry = {{"key", b.key},
                                                {"time", utc_iso8601(ms)},
                                                {"time_unix_ms", ms},
                                                {"stored_bytes", b.stored_bytes},
                                                {"status", status_name(b.status)}};
                if (b.raw_bytes) entry["raw_bytes"] = *b.raw_bytes;
                if (!b.note.empty()) entry["note"] = b.note;
                out.push_back(std::move(entry));
            }
            std::cout << out.dump(2) << "\n";
            return 0;
        }
        if (catalog.backups.empty()) {
            std::printf("no backups of pipeline '%s' in the sink\n", plan->spec.name.c_str());
            return 0;
        }
        size_t width = 3;
        for (const BackupEntry& b : catalog.backups) width = std::max(width, b.key.size());
        std::printf("%-*s  %-20s  %10s  %s\n", static_cast<int>(width), "KEY", "TIME (UTC)", "STORED", "STATUS");
        for (const BackupEntry& b : catalog.backups)
            std::printf("%-*s  %-20s  %10s  %s%s%s\n", static_cast<int>(width), b.key.c_str(),
                        utc_iso8601(unix_ms(b.time)).c_str(), size_text(b.stored_bytes).c_str(), status_name(b.status),
                        b.note.empty() ? "" : "  ", b.note.c_str());
        return 0;
    } catch (const ConfigError&) {
        throw;  // a plugin refused its options once secrets were fetched: exit 2, like validate
    } catch (const std::exception& e) {
        Log::error(std::string("list failed: ") + e.what());
        return static_cast<int>(ExitCode::run_failed);
    }
}

int cmd_verify(const Arguments& args) {
    std::string file = pipeline_argument(args, "backhaul verify PIPELINE [--key KEY | --latest]");
    auto flags = parse_flags(args.rest, {{"--key", true}, {"--latest", false}}, "verify");
    if (flags.count("--key") && flags.count("--latest")) throw UsageError("verify: give --key KEY or --latest, not both");
    std::optional<std::string> key;
    if (flags.count("--key")) key = flags["--key"];
    PluginRegistry registry;
    auto plan = plan_pipeline(file, registry);
    RunOutcome outcome;
    outcome.pipeline = plan->spec.name;
    outcome.started = std::chrono::system_clock::now();
    outcome.key = key.value_or("");
    RunControl control;
    SignalWatch signals(control);
    SecretStore secrets;
    bool fetched = false;
    try {
        secrets.fetch_all(*plan, control);
        fetched = true;
        VerifyResult result = run_verify(*plan, control, secrets, key);
        double seconds = std::chrono::duration<double>(std::chrono::system_clock::now() - outcome.started).count();
        std::printf("verified '%s': %s stored, SHA-256 %s matches its manifest, decoded %s (%.2fs)\n",
                    result.key.c_str(), human_bytes(result.stored_bytes).c_str(), result.sha256.c_str(),
                    human_bytes(result.decoded_bytes).c_str(), seconds);
        return 0;
    } catch (const ConfigError& e) {
        return failed(*plan, fetched ? &secrets : nullptr, outcome, e.what(), ExitCode::usage);
    } catch (const std::exception& e) {
        return failed(*plan, fetched ? &secrets : nullptr, outcome, e.what());
    }
}

int cmd_prune(const Arguments& args) {
    std::string file = pipeline_argument(args, "backhaul prune PIPELINE [--dry-run] [--delete-incomplete]");
    auto flags = parse_flags(args.rest, {{"--dry-run", false}, {"--delete-incomplete", false}}, "prune");
    bool dry_run = flags.count("--dry-run") != 0;
    bool delete_incomplete = flags.count("--delete-incomplete") != 0;
    PluginRegistry registry;
    auto plan = plan_pipeline(file, registry);
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
        RetentionOutcome result = apply_retention(*plan, *plan->retention, store, outcome.started,
                                                  retention_scope(*plan, std::nullopt, delete_incomplete), dry_run);
        const char* deleting = dry_run ? "would delete" : "delete";
        size_t deletes = 0;
        for (const RetentionDecision& d : result.plan.backups) {
            std::printf("%-7s %s  (%s)\n", d.keep ? "keep" : deleting, d.backup.key.c_str(), d.reason.c_str());
            if (!d.keep) ++deletes;
        }
        for (const OrphanDecision& d : result.plan.orphans)
            std::printf("%-7s %s  (%s)\n", d.keep ? "keep" : deleting, d.orphan.key.c_str(), d.reason.c_str());
        std::printf("%s: kept %zu, %s %zu\n", plan->spec.name.c_str(), result.plan.backups.size() - deletes,
                    dry_run ? "would delete" : "deleted", deletes);
        return 0;
    } catch (const LockBusy& e) {
        return failed(*plan, nullptr, outcome, e.what(), ExitCode::locked);
    } catch (const ConfigError& e) {
        return failed(*plan, fetched ? &secrets : nullptr, outcome, e.what(), ExitCode::usage);
    } catch (const std::exception& e) {
        return failed(*plan, fetched ? &secrets : nullptr, outcome, std::string("prune failed: ") + e.what());
    }
}

}  // namespace backhaul
