// Retention planning on a synthetic timeline with an injected clock: each rule, min_keep, incomplete backups, time
// zones; and the [retention] / [[notify]] `on` validation errors with their FILE:LINE:COL.
#include "engine/retention_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/notify_events.hpp"
#include "config/pipeline_spec.hpp"
#include "config/retention_policy.hpp"

namespace backhaul {
namespace {

using namespace std::chrono;
using ::testing::ElementsAre;

// "2025-03-10T12:00" (UTC) as a time point.
system_clock::time_point at(const std::string& text) {
    int y, mo, d, h, mi;
    std::sscanf(text.c_str(), "%d-%d-%dT%d:%d", &y, &mo, &d, &h, &mi);
    return sys_days(year(y) / month(unsigned(mo)) / day(unsigned(d))) + hours(h) + minutes(mi);
}

const system_clock::time_point kNow = at("2025-03-10T12:00");

BackupEntry backup(const std::string& time, bool complete = true) {
    BackupEntry b;
    b.key = "b/" + time;
    b.time = at(time);
    b.stored_bytes = 100;
    b.raw_bytes = 1000;
    b.status = complete ? BackupStatus::complete : BackupStatus::incomplete;
    return b;
}

// Newest first, as the catalog gives them.
std::vector<BackupEntry> timeline(std::vector<BackupEntry> entries) {
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.time > b.time; });
    return entries;
}

// "keep b/... (reason)" / "delete b/... (reason)" lines, newest first.
std::vector<std::string> plan(const std::vector<BackupEntry>& entries, RetentionPolicy policy,
                              const std::string& zone = "UTC", RetentionScope scope = {}) {
    BackupCatalog catalog;
    catalog.backups = entries;
    std::vector<std::string> lines;
    for (const RetentionDecision& d : plan_retention(catalog, policy, TimeZone::load(zone), kNow, scope).backups)
        lines.push_back(std::string(d.keep ? "keep " : "delete ") + d.backup.key + " (" + d.reason + ")");
    return lines;
}

RetentionPolicy policy(int64_t RetentionPolicy::*field, int64_t n) {
    RetentionPolicy p;
    p.min_keep = 0;
    p.*field = n;
    return p;
}

TEST(RetentionPlan, KeepLastKeepsTheNNewest) {
    auto entries = timeline({backup("2025-03-10T03:00"), backup("2025-03-09T03:00"), backup("2025-03-08T03:00"),
                             backup("2025-03-07T03:00")});
    EXPECT_THAT(
        plan(entries, policy(&RetentionPolicy::keep_last, 2)),
        ElementsAre("keep b/2025-03-10T03:00 (last #1)", "keep b/2025-03-09T03:00 (last #2)",
                    "delete b/2025-03-08T03:00 (no rule keeps it)", "delete b/2025-03-07T03:00 (no rule keeps it)"));
}

TEST(RetentionPlan, HourlyKeepsTheNewestOfEachOfTheNNewestHours) {
    auto entries = timeline({backup("2025-03-10T11:30"), backup("2025-03-10T11:00"), backup("2025-03-10T10:30"),
                             backup("2025-03-10T10:00"), backup("2025-03-10T08:00")});
    EXPECT_THAT(
        plan(entries, policy(&RetentionPolicy::keep_hourly, 2)),
        ElementsAre("keep b/2025-03-10T11:30 (hourly 2025-03-10 11h)", "delete b/2025-03-10T11:00 (no rule keeps it)",
                    "keep b/2025-03-10T10:30 (hourly 2025-03-10 10h)", "delete b/2025-03-10T10:00 (no rule keeps it)",
                    "delete b/2025-03-10T08:00 (no rule keeps it)"));
}

TEST(RetentionPlan, DailySkipsDaysWithoutBackups) {
    // No backup on 03-08: the third kept day is 03-07 (restic counts days that have a backup).
    auto entries = timeline({backup("2025-03-10T09:00"), backup("2025-03-10T03:00"), backup("2025-03-09T03:00"),
                             backup("2025-03-07T03:00"), backup("2025-03-06T03:00")});
    EXPECT_THAT(
        plan(entries, policy(&RetentionPolicy::keep_daily, 3)),
        ElementsAre("keep b/2025-03-10T09:00 (daily 2025-03-10)", "delete b/2025-03-10T03:00 (no rule keeps it)",
                    "keep b/2025-03-09T03:00 (daily 2025-03-09)", "keep b/2025-03-07T03:00 (daily 2025-03-07)",
                    "delete b/2025-03-06T03:00 (no rule keeps it)"));
}

TEST(RetentionPlan, WeeklyUsesIsoWeeks) {
    // 2025-03-10 is a Monday (W11); 03-09 is the Sunday of W10; 2024-12-30 is in ISO week 2025-W01.
    auto entries = timeline({backup("2025-03-10T03:00"), backup("2025-03-09T03:00"), backup("2025-03-03T03:00"),
                             backup("2024-12-30T03:00")});
    EXPECT_THAT(
        plan(entries, policy(&RetentionPolicy::keep_weekly, 3)),
        ElementsAre("keep b/2025-03-10T03:00 (weekly 2025-W11)", "keep b/2025-03-09T03:00 (weekly 2025-W10)",
                    "delete b/2025-03-03T03:00 (no rule keeps it)", "keep b/2024-12-30T03:00 (weekly 2025-W01)"));
}

TEST(RetentionPlan, MonthlyAndYearly) {
    auto entries = timeline({backup("2025-03-02T03:00"), backup("2025-03-01T03:00"), backup("2025-02-15T03:00"),
                             backup("2024-12-31T03:00"), backup("2024-06-01T03:00"), backup("2023-12-31T03:00")});
    EXPECT_THAT(
        plan(entries, policy(&RetentionPolicy::keep_monthly, 2)),
        ElementsAre("keep b/2025-03-02T03:00 (monthly 2025-03)", "delete b/2025-03-01T03:00 (no rule keeps it)",
                    "keep b/2025-02-15T03:00 (monthly 2025-02)", "delete b/2024-12-31T03:00 (no rule keeps it)",
                    "delete b/2024-06-01T03:00 (no rule keeps it)", "delete b/2023-12-31T03:00 (no rule keeps it)"));
    EXPECT_THAT(plan(entries, policy(&RetentionPolicy::keep_yearly, 5)),
                ElementsAre("keep b/2025-03-02T03:00 (yearly 2025)", "delete b/2025-03-01T03:00 (no rule keeps it)",
                            "delete b/2025-02-15T03:00 (no rule keeps it)", "keep b/2024-12-31T03:00 (yearly 2024)",
                            "delete b/2024-06-01T03:00 (no rule keeps it)", "keep b/2023-12-31T03:00 (yearly 2023)"));
}

TEST(RetentionPlan, ABackupIsKeptIfAnyRuleKeepsItAndTheReasonsSayWhich) {
    auto entries = timeline({backup("2025-03-10T03:00"), backup("2025-03-09T03:00"), backup("2025-02-28T03:00")});
    RetentionPolicy p = policy(&RetentionPolicy::keep_last, 1);
    p.keep_daily = 2;
    p.keep_monthly = 2;
    EXPECT_THAT(plan(entries, p),
                ElementsAre("keep b/2025-03-10T03:00 (last #1, daily 2025-03-10, monthly 2025-03)",
                            "keep b/2025-03-09T03:00 (daily 2025-03-09)", "keep b/2025-02-28T03:00 (monthly 2025-02)"));
}

TEST(RetentionPlan, MinKeepProtectsTheNewestCompleteBackups) {
    auto entries = timeline({backup("2025-03-10T03:00"), backup("2025-03-10T02:00"), backup("2025-03-10T01:00"),
                             backup("2025-03-10T00:00")});
    RetentionPolicy p = policy(&RetentionPolicy::keep_daily, 1);
    p.min_keep = 3;
    EXPECT_THAT(plan(entries, p),
                ElementsAre("keep b/2025-03-10T03:00 (daily 2025-03-10)", "keep b/2025-03-10T02:00 (min_keep 3)",
                            "keep b/2025-03-10T01:00 (min_keep 3)", "delete b/2025-03-10T00:00 (no rule keeps it)"));
}

TEST(RetentionPlan, IncompleteBackupsCountForNoRuleAndGoOnlyWhenAskedAfterTheGracePeriod) {
    // A failed run left data without a manifest (its pending marker proves it was ours): it must not push a good
    // backup out of keep_last, and it is never deleted by the automatic retention.
    auto entries = timeline({backup("2025-03-10T11:00", false), backup("2025-03-10T03:00"),
                             backup("2025-03-09T09:00", false), backup("2025-03-09T03:00")});
    RetentionPolicy p = policy(&RetentionPolicy::keep_last, 2);
    const std::string kept_incomplete =
        " (incomplete (this pipeline's run left it without manifest); `prune --delete-incomplete` removes it once "
        "older than 24h00m00s)";
    EXPECT_THAT(plan(entries, p),
                ElementsAre("keep b/2025-03-10T11:00" + kept_incomplete, "keep b/2025-03-10T03:00 (last #1)",
                            "keep b/2025-03-09T09:00" + kept_incomplete, "keep b/2025-03-09T03:00 (last #2)"));
    RetentionScope asked;
    asked.delete_incomplete = true;
    EXPECT_THAT(plan(entries, p, "UTC", asked),
                ElementsAre("keep b/2025-03-10T11:00 (incomplete, younger than 24h00m00s (may still be running))",
                            "keep b/2025-03-10T03:00 (last #1)",
                            "delete b/2025-03-09T09:00 (incomplete (this pipeline's run left it without manifest) for "
                            "more than 24h00m00s)",
                            "keep b/2025-03-09T03:00 (last #2)"));
    p.incomplete_after = minutes(30);
    EXPECT_THAT(plan(entries, p, "UTC", asked)[0], ::testing::StartsWith("delete b/2025-03-10T11:00 (incomplete"));
}

TEST(RetentionPlan, DaysAreThePipelinesTimeZoneDays) {
    // 16:00Z and 14:00Z on 03-09 are one UTC day but two days in Seoul (UTC+9): 03-10 01:00 and 03-09 23:00.
    auto entries = timeline({backup("2025-03-09T16:00"), backup("2025-03-09T14:00"), backup("2025-03-08T14:00")});
    RetentionPolicy p = policy(&RetentionPolicy::keep_daily, 2);
    EXPECT_THAT(plan(entries, p, "UTC"), ElementsAre("keep b/2025-03-09T16:00 (daily 2025-03-09)",
                                                     "delete b/2025-03-09T14:00 (no rule keeps it)",
                                                     "keep b/2025-03-08T14:00 (daily 2025-03-08)"));
    EXPECT_THAT(plan(entries, p, "Asia/Seoul"),
                ElementsAre("keep b/2025-03-09T16:00 (daily 2025-03-10)", "keep b/2025-03-09T14:00 (daily 2025-03-09)",
                            "delete b/2025-03-08T14:00 (no rule keeps it)"));
}

// ---- Validation ---------------------------------------------------------------------------------------------------

std::string retention_error(const std::string& table) {
    PipelineSpec spec = parse_pipeline_text(
        "name = \"x\"\n[source]\nplugin = \"source-command\"\n[sink]\n"
        "plugin = \"sink-local\"\nkey = \"k\"\n[retention]\n" +
            table,
        "p.toml");
    try {
        parse_retention_policy(*spec.retention, spec.file);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

TEST(RetentionPolicyParse, ReadsEveryKey) {
    PipelineSpec spec = parse_pipeline_text(
        "name = \"x\"\n[source]\nplugin = \"source-command\"\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n"
        "[retention]\nkeep_last = 1\nkeep_hourly = 2\nkeep_daily = 3\nkeep_weekly = 4\nkeep_monthly = 5\n"
        "keep_yearly = 6\nmin_keep = 7\nincomplete_after = \"90m\"\n",
        "p.toml");
    RetentionPolicy p = parse_retention_policy(*spec.retention, spec.file);
    EXPECT_EQ(std::vector<int64_t>(
                  {p.keep_last, p.keep_hourly, p.keep_daily, p.keep_weekly, p.keep_monthly, p.keep_yearly, p.min_keep}),
              std::vector<int64_t>({1, 2, 3, 4, 5, 6, 7}));
    EXPECT_EQ(p.incomplete_after, minutes(90));
}

TEST(RetentionPolicyParse, ErrorsHaveFileLineColumn) {
    EXPECT_EQ(retention_error("keep_dayly = 3\n"),
              "p.toml:8:1: retention: unknown key 'keep_dayly' (allowed: keep_last, keep_hourly, keep_daily, "
              "keep_weekly, keep_monthly, keep_yearly, min_keep, incomplete_after)");
    EXPECT_EQ(retention_error("keep_daily = \"7\"\n"),
              "p.toml:8:14: retention: 'keep_daily' must be an integer, got string");
    EXPECT_EQ(retention_error("keep_daily = -1\n"), "p.toml:8:14: retention: 'keep_daily' must not be negative");
    EXPECT_EQ(retention_error("keep_daily = 7\nincomplete_after = \"soon\"\n"),
              "p.toml:9:20: retention: 'incomplete_after': invalid duration 'soon'");
    EXPECT_EQ(retention_error("min_keep = 3\n"),
              "p.toml:7:1: retention: no keep_* rule is set (set at least one of keep_last, keep_hourly, keep_daily, "
              "keep_weekly, keep_monthly, keep_yearly)");
}

std::string notify_error(const std::string& on) {
    PipelineSpec spec = parse_pipeline_text(
        "name = \"x\"\n[source]\nplugin = \"source-command\"\n[sink]\n"
        "plugin = \"sink-local\"\nkey = \"k\"\n[[notify]]\nplugin = \"notify-webhook\"\n"
        "on = " +
            on + "\nurl = \"http://h/\"\n",
        "p.toml");
    try {
        NotifyEvents events = take_notify_events(spec.notifiers[0], spec.file);
        return std::string(events.success ? "success " : "") + (events.failure ? "failure" : "") + " / options " +
               std::to_string(spec.notifiers[0].options.size());
    } catch (const ConfigError& e) {
        return e.what();
    }
}

TEST(NotifyEventsParse, OnIsTakenOutOfThePluginOptionsAndChecked) {
    EXPECT_EQ(notify_error("[\"success\", \"failure\"]"), "success failure / options 1");
    EXPECT_EQ(notify_error("[\"success\"]"), "success  / options 1");
    EXPECT_EQ(notify_error("\"failure\""),
              "p.toml:9:6: notify[0]: 'on' must be an array of \"success\" and/or \"failure\", got string");
    EXPECT_EQ(notify_error("[]"), "p.toml:9:6: notify[0]: 'on' must not be empty");
    EXPECT_EQ(notify_error("[\"failure\", \"sucess\"]"),
              "p.toml:9:18: notify[0]: 'on': unknown event 'sucess' (allowed: \"success\", \"failure\")");
    EXPECT_EQ(notify_error("[\"failure\", \"failure\"]"), "p.toml:9:18: notify[0]: 'on': 'failure' is listed twice");
}

TEST(NotifyEventsParse, DefaultIsFailureOnly) {
    PipelineSpec spec = parse_pipeline_text(
        "name = \"x\"\n[source]\nplugin = \"source-command\"\n[sink]\n"
        "plugin = \"sink-local\"\nkey = \"k\"\n[[notify]]\nplugin = \"notify-slack\"\n",
        "p.toml");
    NotifyEvents events = take_notify_events(spec.notifiers[0], spec.file);
    EXPECT_FALSE(events.success);
    EXPECT_TRUE(events.failure);
}

}  // namespace
}  // namespace backhaul
