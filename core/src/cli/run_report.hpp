// How every command that runs a pipeline reports its end: the summary line, notifications and the metrics file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/interpolation.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/run_outcome.hpp"

namespace backhaul {

// "backup committed: pipeline=... key=... raw=... stored=... ratio=... duration=..." or "run failed: ..." as one
// log line (info or error).
void log_run_summary(const RunOutcome& outcome);

// Writes the metrics file if asked for; a failure to write it is logged and does not change the exit code.
void write_metrics_if_asked(const std::optional<std::filesystem::path>& metrics_file, const RunOutcome& outcome);

// Summary, notifications (through `resolver`, or without secrets when null) and metrics of a run that had a plan.
void report_run(const PipelinePlan& plan, const ValueResolver* resolver, const RunOutcome& outcome,
                const std::optional<std::filesystem::path>& metrics_file);

}  // namespace backhaul
