#include "cli/run_report.hpp"

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
    std::snprintf(summary, sizeof summary, "%s: pipeline=%s key=%s raw=%s stored=%s ratio=%.3f duration=%.2fs", what,
                  outcome.pipeline.c_str(),
                  outcome.key.empty() ? "-" : outcome.key.c_str(), human_bytes(outcome.raw_bytes).c_str(),
                  human_bytes(outcome.stored_bytes).c_str(),
                  outcome.raw_bytes ? double(outcome.stored_bytes) / double(outcome.raw_bytes) : 0.0,
                  static_cast<double>(outcome.duration_ms()) / 1000.0);
    Log::write(outcome.success ? BH_LOG_INFO : BH_LOG_ERROR, "", summary);
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
