// Retention against the sink: list, plan (retention_plan.hpp), delete. Used after every successful run and by
// `backhaul prune`.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/pipeline_plan.hpp"
#include "engine/retention_plan.hpp"
#include "engine/sink_store.hpp"

namespace backhaul {

struct RetentionOutcome {
    std::vector<RetentionDecision> decisions;   // newest first
    std::vector<std::string> orphan_manifests;  // deleted too (they describe nothing any more)
    size_t deleted = 0;                         // backups deleted (0 on a dry run)
};

// Deletes (unless `dry_run`) every backup the plan does not keep: data objects first, then their manifests, so an
// interrupted prune leaves at worst a manifest without data (ignored, deleted next time), never a complete-looking
// backup without data. Throws RunError.
RetentionOutcome apply_retention(const PipelinePlan& plan, const RetentionPolicy& policy, SinkStore& store,
                                 std::chrono::system_clock::time_point now, bool dry_run);

}  // namespace backhaul
