#include "engine/retention_plan.hpp"

#include <backhaul/common/human_bytes.hpp>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>

#include "engine/backup_manifest.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

struct Calendar {
    int year;
    unsigned month, day, hour;
    int iso_year;
    unsigned iso_week;
};

Calendar calendar_of(std::chrono::system_clock::time_point time, const TimeZone& zone) {
    using namespace std::chrono;
    const int64_t utc = floor<seconds>(time).time_since_epoch().count();
    const int64_t local = utc + zone.utc_offset(utc);
    const int64_t day_number = local / 86400 - (local % 86400 < 0 ? 1 : 0);
    const sys_days day_point{days{day_number}};
    const year_month_day date{day_point};
    Calendar c{};
    c.year = int(date.year());
    c.month = unsigned(date.month());
    c.day = unsigned(date.day());
    c.hour = unsigned((local - day_number * 86400) / 3600);
    const unsigned weekday = std::chrono::weekday{day_point}.iso_encoding();
    const sys_days thursday = day_point + days{4 - int(weekday)};
    const std::chrono::year thursday_year = year_month_day{thursday}.year();
    c.iso_year = int(thursday_year);
    c.iso_week = unsigned((thursday - sys_days{thursday_year / January / 1}).count() / 7 + 1);
    return c;
}

std::string text(const char* format, auto... values) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, values...);
    return buf;
}

struct BucketRule {
    const char* name;
    int64_t remaining;
    std::function<std::string(const Calendar&, size_t index)> bucket;
    std::optional<std::string> last;
};

// now - time in milliseconds, saturating: no catalog time and no grace period can wrap into "young" or "old".
bool older_than(std::chrono::system_clock::time_point time, std::chrono::system_clock::time_point now,
                std::chrono::milliseconds grace) {
    int64_t age = 0;
    if (__builtin_sub_overflow(unix_ms(now), unix_ms(time), &age)) age = unix_ms(now) > 0 ? INT64_MAX : INT64_MIN;
    return age > grace.count();
}

std::string identity_text(const std::map<std::string, std::string>& identity) {
    std::string out;
    for (const auto& [name, value] : identity) out += (out.empty() ? "{" : ", {") + name + "}=" + value;
    return out.empty() ? "no key variables" : out;
}

// The identity that is this pipeline's: the run's, or the one every complete backup shares.
std::map<std::string, std::string> scope_identity(const BackupCatalog& catalog, const RetentionScope& scope) {
    if (scope.identity) return *scope.identity;
    std::set<std::map<std::string, std::string>> seen;
    for (const BackupEntry& b : catalog.backups)
        if (b.complete()) seen.insert(b.identity);
    if (seen.size() <= 1) return seen.empty() ? std::map<std::string, std::string>{} : *seen.begin();
    std::string list;
    for (const auto& identity : seen) list += (list.empty() ? "" : "; ") + identity_text(identity);
    throw RetentionRefused("retention: the complete backups carry different key variables (" + list +
                           "): more than one pipeline uses this name and key template. Give each pipeline its own "
                           "`name`; nothing was deleted");
}

// The one rule: `raw` is below `threshold` of the baseline's raw size (threshold 0 = off).
bool shrunk(uint64_t raw, uint64_t baseline_raw, double threshold) {
    return threshold > 0 && static_cast<double>(raw) < threshold * static_cast<double>(baseline_raw);
}

// Oldest to newest over the in-scope complete backups: which are shrunken, against which baseline.
std::map<size_t, ShrinkFinding> find_shrunken(const std::vector<BackupEntry>& newest_first,
                                              const std::vector<size_t>& in_scope, double threshold) {
    std::map<size_t, ShrinkFinding> shrunken;
    const BackupEntry* baseline = nullptr;
    for (auto it = in_scope.rbegin(); it != in_scope.rend(); ++it) {
        const BackupEntry& b = newest_first[*it];
        if (baseline && b.raw_bytes && baseline->raw_bytes && shrunk(*b.raw_bytes, *baseline->raw_bytes, threshold)) {
            shrunken[*it] = ShrinkFinding{baseline->key, *baseline->raw_bytes};
            continue;
        }
        baseline = &b;
    }
    return shrunken;
}

std::vector<size_t> in_scope_complete(const std::vector<BackupEntry>& newest_first,
                                      const std::map<std::string, std::string>& identity) {
    std::vector<size_t> indices;
    for (size_t i = 0; i < newest_first.size(); ++i)
        if (newest_first[i].complete() && newest_first[i].identity == identity) indices.push_back(i);
    return indices;
}

std::string shrunken_reason(const BackupEntry& b, const ShrinkFinding& f, double threshold) {
    return "shrunken: " + common::human_bytes(b.raw_bytes.value_or(0)) + " raw is below " +
           text("%g", threshold * 100) + "% of the " + common::human_bytes(f.baseline_raw_bytes) + " of '" +
           f.baseline_key + "'; kept, takes no keep_* slot";
}

}  // namespace

std::optional<ShrinkFinding> shrink_finding(const std::vector<BackupEntry>& newest_first,
                                            const std::map<std::string, std::string>& identity, uint64_t raw_bytes,
                                            double threshold) {
    // A new backup is compared with the newest in-scope complete backup that is not shrunken itself.
    const std::vector<size_t> in_scope = in_scope_complete(newest_first, identity);
    const std::map<size_t, ShrinkFinding> shrunken = find_shrunken(newest_first, in_scope, threshold);
    for (size_t i : in_scope) {
        if (shrunken.count(i)) continue;
        const BackupEntry& baseline = newest_first[i];
        if (!baseline.raw_bytes || !shrunk(raw_bytes, *baseline.raw_bytes, threshold)) return std::nullopt;
        return ShrinkFinding{baseline.key, *baseline.raw_bytes};
    }
    return std::nullopt;
}

RetentionPlan plan_retention(const BackupCatalog& catalog, const RetentionPolicy& policy, const TimeZone& zone,
                             std::chrono::system_clock::time_point now, const RetentionScope& scope) {
    std::vector<BucketRule> rules = {
        {"last", policy.keep_last, [](const Calendar&, size_t i) { return "#" + std::to_string(i + 1); }, {}},
        {"hourly",
         policy.keep_hourly,
         [](const Calendar& c, size_t) { return text("%04d-%02u-%02u %02uh", c.year, c.month, c.day, c.hour); },
         {}},
        {"daily",
         policy.keep_daily,
         [](const Calendar& c, size_t) { return text("%04d-%02u-%02u", c.year, c.month, c.day); },
         {}},
        {"weekly",
         policy.keep_weekly,
         [](const Calendar& c, size_t) { return text("%04d-W%02u", c.iso_year, c.iso_week); },
         {}},
        {"monthly",
         policy.keep_monthly,
         [](const Calendar& c, size_t) { return text("%04d-%02u", c.year, c.month); },
         {}},
        {"yearly", policy.keep_yearly, [](const Calendar& c, size_t) { return text("%04d", c.year); }, {}},
    };

    const std::vector<BackupEntry>& backups = catalog.backups;
    const std::map<std::string, std::string> identity = scope_identity(catalog, scope);
    const std::vector<size_t> in_scope = in_scope_complete(backups, identity);
    const std::set<size_t> in_scope_set(in_scope.begin(), in_scope.end());
    const std::map<size_t, ShrinkFinding> shrunken = find_shrunken(backups, in_scope, scope.shrink_threshold);
    const std::string grace = human_duration(policy.incomplete_after.count());

    RetentionPlan plan;
    size_t complete_index = 0;
    bool newest_complete_seen = false;
    for (size_t i = 0; i < backups.size(); ++i) {
        const BackupEntry& backup = backups[i];
        RetentionDecision d{backup, true, ""};
        if (!in_scope_set.count(i)) {
            switch (backup.status) {
                case BackupStatus::complete:
                    d.reason = "foreign: a backup of a pipeline of the same name with " +
                               identity_text(backup.identity) + "; never deleted";
                    break;
                case BackupStatus::foreign:
                    d.reason = "foreign: " + backup.note + "; never deleted";
                    break;
                case BackupStatus::unknown:
                    d.reason = "not provably this pipeline's (" + backup.note + "); never deleted";
                    break;
                case BackupStatus::incomplete: {
                    // A set says what is wrong with it: a run left it without manifest, or objects are missing.
                    const std::string why =
                        backup.is_set ? backup.note : "this pipeline's run left it without manifest";
                    if (scope.delete_incomplete && older_than(backup.time, now, policy.incomplete_after)) {
                        d.keep = false;
                        d.reason = "incomplete (" + why + ") for more than " + grace;
                    } else if (scope.delete_incomplete) {
                        d.reason = "incomplete, younger than " + grace + " (may still be running)";
                    } else {
                        d.reason =
                            "incomplete (" + why + "); `prune --delete-incomplete` removes it once older than " + grace;
                    }
                    break;
                }
            }
            plan.backups.push_back(std::move(d));
            continue;
        }
        if (auto it = shrunken.find(i); it != shrunken.end()) {
            d.reason = shrunken_reason(backup, it->second, scope.shrink_threshold);
            d.shrunken = true;
            plan.backups.push_back(std::move(d));
            continue;
        }
        d.keep = false;
        const Calendar calendar = calendar_of(backup.time, zone);
        for (BucketRule& rule : rules) {
            if (rule.remaining <= 0) continue;
            std::string bucket = rule.bucket(calendar, complete_index);
            if (rule.last == bucket) continue;
            rule.last = bucket;
            --rule.remaining;
            d.keep = true;
            d.reason += (d.reason.empty() ? "" : ", ") + std::string(rule.name) + " " + bucket;
        }
        if (!newest_complete_seen) {
            newest_complete_seen = true;
            if (!d.keep) {
                d.keep = true;
                d.reason = "newest complete backup";
            }
        }
        if (!d.keep && static_cast<int64_t>(complete_index) < policy.min_keep) {
            d.keep = true;
            d.reason = "min_keep " + std::to_string(policy.min_keep);
        }
        if (!d.keep) d.reason = "no rule keeps it";
        ++complete_index;
        plan.backups.push_back(std::move(d));
    }

    for (const OrphanMetadata& orphan : catalog.orphans) {
        const char* what = is_manifest_key(orphan.key) ? "manifest" : "pending marker";
        OrphanDecision d{orphan, true, ""};
        if (older_than(orphan.time, now, policy.incomplete_after)) {
            d.keep = false;
            d.reason = std::string("this pipeline's ") + what + " without its data for more than " + grace;
        } else {
            d.reason = std::string(what) + " without its data, younger than " + grace + " (listings may lag)";
        }
        plan.orphans.push_back(std::move(d));
    }
    check_retention_plan(plan);
    return plan;
}

RetentionPlan::Deletions RetentionPlan::deletions() const {
    Deletions out;
    for (const RetentionDecision& d : backups) {
        if (d.keep) continue;
        if (d.backup.is_set) {
            out.data.insert(out.data.end(), d.backup.object_keys.begin(), d.backup.object_keys.end());
            out.metadata.insert(out.metadata.end(), d.backup.metadata_keys.begin(), d.backup.metadata_keys.end());
            continue;
        }
        out.data.push_back(d.backup.key);
        out.metadata.push_back(d.backup.complete() ? manifest_key(d.backup.key) : pending_key(d.backup.key));
    }
    for (const OrphanDecision& d : orphans)
        if (!d.keep) out.metadata.push_back(d.orphan.key);
    return out;
}

void check_retention_plan(const RetentionPlan& plan) {
    // Per identity group: the newest complete backup that is not shrunken, and whether it is kept.
    std::map<std::map<std::string, std::string>, const RetentionDecision*> newest_good;
    for (const RetentionDecision& d : plan.backups) {
        const BackupStatus status = d.backup.status;
        if (!d.keep && status != BackupStatus::complete && status != BackupStatus::incomplete)
            throw RetentionRefused("retention: refusing to delete '" + d.backup.key +
                                   "', which is not this pipeline's (" + status_name(status) +
                                   "); nothing was deleted");
        if (!d.keep && d.backup.is_set) {
            // A set deletes what lies below its key and its own metadata, nothing else, whatever its lists say.
            const std::string prefix = d.backup.key + "/";
            for (const std::string& key : d.backup.object_keys)
                if (key.size() <= prefix.size() || !key.starts_with(prefix))
                    throw RetentionRefused("retention: refusing to delete '" + key + "' with set '" + d.backup.key +
                                           "': it is not one of the set's objects; nothing was deleted");
            for (const std::string& key : d.backup.metadata_keys)
                if (key != manifest_key(d.backup.key) && key != pending_key(d.backup.key))
                    throw RetentionRefused("retention: refusing to delete '" + key + "' with set '" + d.backup.key +
                                           "': it is not the set's manifest or marker; nothing was deleted");
        }
        if (status != BackupStatus::complete || d.shrunken) continue;
        const RetentionDecision*& newest = newest_good[d.backup.identity];
        if (!newest || d.backup.time > newest->backup.time) newest = &d;
    }
    for (const auto& [identity, newest] : newest_good)
        if (!newest->keep)
            throw RetentionRefused("retention: the plan would delete the newest complete backup '" +
                                   newest->backup.key + "'; nothing was deleted");
    for (const OrphanDecision& d : plan.orphans)
        if (!d.keep && !is_metadata_key(d.orphan.key))
            throw RetentionRefused("retention: refusing to delete '" + d.orphan.key + "': not a metadata object");
}

}  // namespace backhaul
