// The backups of one pipeline as its sink holds them, from one (sink-paginated) listing: the keys its key template
// can produce, each complete if its manifest exists. No local state: what the sink lists is the truth, so retention
// works the same from a laptop, a container or a new host.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/key_template.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/sink_store.hpp"

namespace backhaul {

struct BackupEntry {
    std::string key;
    // The run's start time from the key's time fields; the object's modification time when the key has no date.
    std::chrono::system_clock::time_point time;
    int64_t stored_bytes = -1;  // -1 if the sink does not know
    bool complete = false;      // "<key>.manifest.json" exists
};

struct BackupCatalog {
    std::vector<BackupEntry> backups;           // newest first (ties: greater key first)
    std::vector<std::string> orphan_manifests;  // manifests of this pipeline whose data object is gone
};

// Pure: sorts `objects` (a listing) into this pipeline's backups. Objects the matcher rejects are someone else's.
BackupCatalog catalog_backups(const std::vector<StoredObject>& objects, const KeyMatcher& matcher);

// The matcher for `plan`'s keys: {pipeline} is known, the pipeline's time zone decodes the time fields.
KeyMatcher pipeline_key_matcher(const PipelinePlan& plan);

// Lists the sink under the key template's literal prefix and catalogs the result. Throws RunError.
BackupCatalog list_backups(const PipelinePlan& plan, SinkStore& store);

}  // namespace backhaul
