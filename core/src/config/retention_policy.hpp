// The pipeline's [retention] table: which stored backups to keep. restic `forget` semantics (see docs/retention.md):
// a backup is kept if any rule keeps it.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "errors.hpp"

namespace backhaul {

struct RetentionPolicy {
    // Each 0 = the rule is off.
    int64_t keep_last = 0;     // the N newest complete backups
    int64_t keep_hourly = 0;   // the newest backup of each of the N newest hours that have one
    int64_t keep_daily = 0;    // ... days
    int64_t keep_weekly = 0;   // ... ISO weeks
    int64_t keep_monthly = 0;  // ... months
    int64_t keep_yearly = 0;   // ... years
    // The N newest complete backups are never deleted, whatever the rules say (a floor under mistakes in the rules).
    int64_t min_keep = 1;
    // A backup without its manifest (a failed or interrupted run) is deleted once it is older than this; younger
    // ones may still be in progress.
    std::chrono::milliseconds incomplete_after{std::chrono::hours(24)};
};

// Allowed keys, for errors and docs.
inline constexpr const char* kRetentionKeys =
    "keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, min_keep, incomplete_after";

// ConfigError "FILE:LINE:COL: retention: ..." for unknown keys, wrong types, negative counts, a bad duration or a
// table without any keep_* rule (which would delete everything but min_keep).
RetentionPolicy parse_retention_policy(const toml::table& table, const std::string& file);

}  // namespace backhaul
