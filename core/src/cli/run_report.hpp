// How every command that runs a pipeline reports its end: the summary line, notifications and the metrics file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/interpolation.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/run_outcome.hpp"
#include "errors.hpp"

namespace backhaul {

// "backup committed: pipeline=... key=... raw=... stored=... ratio=... duration=..." or "run failed: ..." as one
// log line (info or error); in --log-format json also as fields (event "run_summary", pipeline, key, outcome,
// raw_bytes, stored_bytes, duration_ms, ...: docs/operations.md).
void log_run_summary(const RunOutcome& outcome);

// Writes the metrics file if asked for; a failure to write it is logged and does not change the exit code.
void write_metrics_if_asked(const std::optional<std::filesystem::path>& metrics_file, const RunOutcome& outcome);

// Logs `error` and notifies (failures only) for a command that failed after its plan was made (verify, prune).
int report_failure(const PipelinePlan& plan, const ValueResolver* secrets, RunOutcome& outcome,
                   const std::string& error, ExitCode code = ExitCode::run_failed);

// Summary, notifications (through `resolver`, or without secrets when null) and metrics of a run that had a plan.
void report_run(const PipelinePlan& plan, const ValueResolver* resolver, const RunOutcome& outcome,
                const std::optional<std::filesystem::path>& metrics_file);

}  // namespace backhaul
