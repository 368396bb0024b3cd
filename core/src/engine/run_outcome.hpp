// How a run ended, as notifications, the metrics file and the summary line report it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/retention_plan.hpp"

namespace backhaul {

struct RunOutcome {
    std::string pipeline;  // "" if the pipeline file could not even be parsed
    bool success = false;
    // This run stored a complete backup (data and manifest), even if something after it (retention) failed.
    bool backup_complete = false;
    // Data was committed under `key` (with backup_complete: and its manifest; without: an incomplete backup).
    bool data_committed = false;
    // This run's backup is shrunken (retention_plan.hpp): compared with this one.
    std::optional<ShrinkFinding> shrunken;
    // Objects under the key template that retention never deletes by itself (incomplete, unknown, foreign).
    size_t untouched_objects = 0;
    std::string key;          // "" if no key was chosen
    size_t stream_count = 0;  // streams of the backup (a set's count; 1 otherwise), 0 if not known
    bool set = false;         // the pipeline backs up a set (docs/sets.md)
    // The sinks (by name, in the pipeline's order) that hold a complete copy of this run's backup, and those whose
    // copy failed; both empty when the run never got to its sinks' names (an invalid pipeline).
    std::vector<std::string> complete_sinks;
    std::vector<std::string> failed_sinks;
    std::string error;  // one line, already scrubbed of secrets; "" on success
    std::chrono::system_clock::time_point started;
    std::chrono::system_clock::time_point finished;
    uint64_t raw_bytes = 0;
    uint64_t stored_bytes = 0;

    int64_t duration_ms() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(finished - started).count();
    }
};

}  // namespace backhaul
