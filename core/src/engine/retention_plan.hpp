// Which backups retention keeps and deletes, and why: a pure function of the catalog, the policy, the pipeline's time
// zone and the current time (injected, so a synthetic timeline can test every rule).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/retention_policy.hpp"
#include "config/time_zone.hpp"
#include "engine/backup_catalog.hpp"

namespace backhaul {

struct RetentionDecision {
    BackupEntry backup;
    bool keep = true;
    // Why, e.g. "last #1, daily 2025-11-24, monthly 2025-11", "newest complete backup", "min_keep 3",
    // "incomplete, younger than 24h00m00s", "incomplete for more than 24h00m00s", "no rule keeps it".
    std::string reason;
};

// `newest_first` as BackupCatalog::backups. Rules apply to complete backups only (restic `forget`: a backup is kept if
// any rule keeps it; each bucket rule keeps the newest backup of each of the N newest buckets that have one, buckets
// in `zone`). The newest complete backup is always kept, and at least min_keep complete backups are. Incomplete
// backups are deleted once older than policy.incomplete_after. Decisions come in the order of `newest_first`.
std::vector<RetentionDecision> plan_retention(const std::vector<BackupEntry>& newest_first,
                                              const RetentionPolicy& policy, const TimeZone& zone,
                                              std::chrono::system_clock::time_point now);

}  // namespace backhaul
