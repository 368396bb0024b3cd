#include "cli/run_report.hpp"

#include <backhaul/common/human_bytes.hpp>
#include <chrono>
#include <cstdio>

#include "engine/metrics_file.hpp"
#include "engine/notification.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {

void log_run_summary(const RunOutcome& outcome) {
    char summary[1024];
    // Exactly what exists: the three ways a run can fail leave different things behind.
    const char* what = outcome.success           ? "backup committed"
                       : outcome.backup_complete ? "run failed after the backup was committed"
                       : outcome.data_committed  ? "run failed, backup data committed without its manifest (incomplete)"
                                                 : "run failed, nothing committed";
    auto names = [](const std::vector<std::string>& list) {
        std::string text;
        for (const std::string& name : list) text += (text.empty() ? "" : ",") + name;
        return text;
    };
    std::string streams = outcome.set ? " streams=" + std::to_string(outcome.stream_count) : "";
    // Several sinks: which copies exist (one sink says it by what= already).
    if (outcome.complete_sinks.size() + outcome.failed_sinks.size() > 1)
        streams += " complete_sinks=" + (outcome.complete_sinks.empty() ? "-" : names(outcome.complete_sinks)) +
                   " failed_sinks=" + (outcome.failed_sinks.empty() ? "-" : names(outcome.failed_sinks));
    std::snprintf(summary, sizeof summary, "%s: pipeline=%s key=%s%s raw=%s stored=%s ratio=%.3f duration=%.2fs", what,
                  outcome.pipeline.c_str(), outcome.key.empty() ? "-" : outcome.key.c_str(), streams.c_str(),
                  common::human_bytes(outcome.raw_bytes).c_str(), common::human_bytes(outcome.stored_bytes).c_str(),
                  outcome.raw_bytes ? double(outcome.stored_bytes) / double(outcome.raw_bytes) : 0.0,
                  static_cast<double>(outcome.duration_ms()) / 1000.0);
    // The same names and meanings as a notifier's event (sdk plugin_abi.h, bh_notify_event).
    std::vector<LogField> fields = {{"event", std::string("run_summary")},
                                    {"pipeline", outcome.pipeline},
                                    {"key", outcome.key},
                                    {"outcome", std::string(outcome.success ? "success" : "failure")},
                                    {"backup_complete", outcome.backup_complete},
                                    {"data_committed", outcome.data_committed},
                                    {"raw_bytes", outcome.raw_bytes},
                                    {"stored_bytes", outcome.stored_bytes},
                                    {"duration_ms", outcome.duration_ms()},
                                    {"started", utc_iso8601(unix_ms(outcome.started))},
                                    {"shrunken", outcome.shrunken.has_value()},
                                    {"untouched_objects", static_cast<uint64_t>(outcome.untouched_objects)},
                                    {"stream_count", static_cast<uint64_t>(outcome.stream_count)},
                                    {"complete_sinks", names(outcome.complete_sinks)},
                                    {"failed_sinks", names(outcome.failed_sinks)}};
    if (outcome.shrunken) {
        fields.push_back({"baseline_key", outcome.shrunken->baseline_key});
        fields.push_back({"baseline_raw_bytes", outcome.shrunken->baseline_raw_bytes});
    }
    if (!outcome.error.empty()) fields.push_back({"error", outcome.error});
    Log::write(outcome.success ? BH_LOG_INFO : BH_LOG_ERROR, "", summary, fields);
}

int report_failure(const PipelinePlan& plan, const ValueResolver* secrets, RunOutcome& outcome,
                   const std::string& error, ExitCode code) {
    outcome.error = Log::scrub(error);
    outcome.finished = std::chrono::system_clock::now();
    Log::error(outcome.error);
    report_run(plan, secrets, outcome, std::nullopt);
    return static_cast<int>(code);
}

void write_metrics_if_asked(const std::optional<std::filesystem::path>& metrics_file, const RunOutcome& outcome) {
    if (!metrics_file || outcome.pipeline.empty()) return;
    try {
        write_metrics_file(*metrics_file, outcome);
    } catch (const std::exception& e) {
        Log::warn(e.what());
    }
}

void report_run(const PipelinePlan& plan, const ValueResolver* resolver, const RunOutcome& outcome,
                const std::optional<std::filesystem::path>& metrics_file) {
    ProcessEnvResolver env_only;
    send_notifications(plan.notifiers, resolver ? *resolver : env_only, outcome);
    write_metrics_if_asked(metrics_file, outcome);
}

}  // namespace backhaul
