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
    RetentionPlan plan;
    size_t deleted = 0;  // backups deleted (0 on a dry run)
    size_t orphans_deleted = 0;
};

// Deletes (unless `dry_run`) what the plan does not keep: data objects first, then their manifests or markers, so an
// interrupted prune leaves at worst this pipeline's metadata without data (deleted after the grace period), never a
// complete-looking backup without data. Throws RunError (RetentionRefused: nothing was deleted).
RetentionOutcome apply_retention(const PipelinePlan& plan, const RetentionPolicy& policy, SinkStore& store,
                                 std::chrono::system_clock::time_point now, const RetentionScope& scope, bool dry_run);

// The pipeline's RetentionScope (its shrink threshold) for `identity` (nullopt: prune).
RetentionScope retention_scope(const PipelinePlan& plan, std::optional<std::map<std::string, std::string>> identity,
                               bool delete_incomplete);

}  // namespace backhaul
