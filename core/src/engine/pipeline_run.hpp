// Backup and restore runs of a planned pipeline.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/pipeline_plan.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

struct BackupResult {
    std::string key;
    uint64_t raw_bytes = 0;     // produced by the source
    uint64_t stored_bytes = 0;  // handed to the sink
};

// Fetches secrets, creates every stage, streams source -> transforms -> sink and commits only if every stage
// succeeded; otherwise aborts the sink. Throws RunError with the first error (nothing committed).
BackupResult run_backup(const PipelinePlan& plan, RunControl& control, std::chrono::system_clock::time_point start);

struct RestoreRequest {
    std::string key;
    // Write the decoded stream to this file ("-" = stdout) instead of the source's restore target.
    std::optional<std::filesystem::path> output;
    // The source's restore options from the command line: --name [value].
    std::vector<std::pair<std::string, std::optional<std::string>>> target_options;
};

struct RestoreResult {
    uint64_t stored_bytes = 0;    // read from the sink
    uint64_t restored_bytes = 0;  // handed to the target after decoding
};

// Reads `key` from the sink, decodes through the transforms in reverse order and feeds the source's restore target
// (or the output file). Throws RunError with the first error; the target is aborted on failure.
RestoreResult run_restore(const PipelinePlan& plan, RunControl& control, const RestoreRequest& request);

}  // namespace backhaul
