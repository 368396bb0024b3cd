// Which backups retention keeps and deletes, and why: a pure function of the catalog, the policy, the pipeline's time
// zone and the current time (injected, so a synthetic timeline can test every rule).
//
// The promises (docs/retention.md; tests/ops/retention_property_test.cpp checks them over random catalogs):
//   - only this pipeline's complete backups are deleted by the keep_* rules; foreign and unknown objects never are,
//     incomplete ones only with `delete_incomplete` and after the grace period;
//   - the newest complete backup that is not shrunken is always kept;
//   - decisions do not depend on the order of the listing.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/retention_policy.hpp"
#include "config/time_zone.hpp"
#include "engine/backup_catalog.hpp"
#include "errors.hpp"

namespace backhaul {

struct RetentionScope {
    // The identity ({database} = "orders", ...) of the run that just stored a backup: complete backups with another
    // identity are another pipeline's that shares this one's name, and are left alone. nullopt (prune) = take the
    // identity from the backups, and refuse (RetentionRefused) if they carry more than one.
    std::optional<std::map<std::string, std::string>> identity;
    // `prune --delete-incomplete`: also delete incomplete backups (this pipeline's pending marker, no manifest) older
    // than incomplete_after. Never on by itself.
    bool delete_incomplete = false;
    // A complete backup whose raw size is below this fraction of the newest older complete backup that is not
    // shrunken itself is "shrunken": kept, reported, and it takes no keep_* slot. 0 = off.
    double shrink_threshold = 0.5;
};

// Retention would have to guess which backups are this pipeline's: deletes nothing. Exit code 1.
class RetentionRefused : public RunError {
  public:
    using RunError::RunError;
};

struct RetentionDecision {
    BackupEntry backup;
    bool keep = true;
    // Why, e.g. "last #1, daily 2025-11-24, monthly 2025-11", "newest complete backup", "min_keep 3",
    // "shrunken: ...", "foreign: manifest of pipeline 'b'", "no rule keeps it".
    std::string reason;
    bool shrunken = false;  // kept as shrunken, taking no keep_* slot
};

struct OrphanDecision {
    OrphanMetadata orphan;
    bool keep = true;
    std::string reason;
};

struct RetentionPlan {
    std::vector<RetentionDecision> backups;  // in the catalog's order, newest first
    std::vector<OrphanDecision> orphans;     // this pipeline's manifests and markers without data
    // The keys to delete: all `data` first (a set's: the objects of it that are listed), then the manifests and
    // markers (`metadata`) that describe it, so an interruption never leaves a complete-looking backup without data.
    struct Deletions {
        std::vector<std::string> data, metadata;
    };
    Deletions deletions() const;
};

// Rules apply to in-scope complete backups only (restic `forget`: a backup is kept if any rule keeps it; each bucket
// rule keeps the newest backup of each of the N newest buckets that have one, buckets in `zone`).
RetentionPlan plan_retention(const BackupCatalog& catalog, const RetentionPolicy& policy, const TimeZone& zone,
                             std::chrono::system_clock::time_point now, const RetentionScope& scope);

// Whether a backup of `raw_bytes` is shrunken relative to `newest_first` (a catalog's backups, newest first, before
// it): the same rule the planner applies. `baseline` is what it was compared with.
struct ShrinkFinding {
    std::string baseline_key;
    uint64_t baseline_raw_bytes = 0;
};
std::optional<ShrinkFinding> shrink_finding(const std::vector<BackupEntry>& newest_first,
                                            const std::map<std::string, std::string>& identity, uint64_t raw_bytes,
                                            double threshold);

// Throws RetentionRefused if `plan` would delete anything the promises above forbid (or, with a set, anything that
// is not below its key or its own metadata). apply_retention calls it on
// every plan before it deletes: a planner bug must not become lost backups.
void check_retention_plan(const RetentionPlan& plan);

}  // namespace backhaul
