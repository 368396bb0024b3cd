#include "engine/retention_plan.hpp"

#include <cstdio>
#include <functional>
#include <optional>

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

}  // namespace

std::vector<RetentionDecision> plan_retention(const std::vector<BackupEntry>& newest_first,
                                              const RetentionPolicy& policy, const TimeZone& zone,
                                              std::chrono::system_clock::time_point now) {
    std::vector<BucketRule> rules = {
        {"last", policy.keep_last, [](const Calendar&, size_t i) { return "#" + std::to_string(i + 1); }, {}},
        {"hourly", policy.keep_hourly,
         [](const Calendar& c, size_t) { return text("%04d-%02u-%02u %02uh", c.year, c.month, c.day, c.hour); }, {}},
        {"daily", policy.keep_daily, [](const Calendar& c, size_t) { return text("%04d-%02u-%02u", c.year, c.month, c.day); },
         {}},
        {"weekly", policy.keep_weekly, [](const Calendar& c, size_t) { return text("%04d-W%02u", c.iso_year, c.iso_week); },
         {}},
        {"monthly", policy.keep_monthly, [](const Calendar& c, size_t) { return text("%04d-%02u", c.year, c.month); }, {}},
        {"yearly", policy.keep_yearly, [](const Calendar& c, size_t) { return text("%04d", c.year); }, {}},
    };

    std::vector<RetentionDecision> decisions;
    size_t complete_index = 0;
    bool newest_complete_seen = false;
    const std::string grace = human_duration(policy.incomplete_after.count());
    for (const BackupEntry& backup : newest_first) {
        RetentionDecision d{backup, false, ""};
        if (!backup.complete) {
            if (now - backup.time > policy.incomplete_after) {
                d.reason = "incomplete (no manifest) for more than " + grace;
            } else {
                d.keep = true;
                d.reason = "incomplete, younger than " + grace + " (may still be running)";
            }
            decisions.push_back(std::move(d));
            continue;
        }
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
        decisions.push_back(std::move(d));
    }
    return decisions;
}

}  // namespace backhaul
