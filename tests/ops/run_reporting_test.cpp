// What a run reports: the Prometheus metrics file (checked with a small parser of the text exposition format), the
// progress line, and the manifest's JSON round trip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>


#include "engine/backup_manifest.hpp"
#include "engine/metrics_file.hpp"
#include "engine/progress_line.hpp"
#include "prometheus_text.hpp"

namespace backhaul {
namespace {

using namespace std::chrono;

RunOutcome outcome(bool success) {
    RunOutcome o;
    o.pipeline = "orders";
    o.success = success;
    o.backup_complete = success;
    o.started = system_clock::time_point(seconds(1741608000));
    o.finished = o.started + milliseconds(4250);
    o.raw_bytes = 1000;
    o.stored_bytes = success ? 300 : 0;
    return o;
}

TEST(MetricsFile, SuccessParsesAsPrometheusText) {
    auto samples = testing::parse_prometheus(metrics_text(outcome(true), std::nullopt));
    const std::string l = "{pipeline=\"orders\"}";
    EXPECT_EQ(samples, (std::map<std::string, double>{
                           {"backhaul_last_run_timestamp_seconds" + l, 1741608004.25},
                           {"backhaul_last_run_success" + l, 1},
                           {"backhaul_last_run_duration_seconds" + l, 4.25},
                           {"backhaul_last_run_raw_bytes" + l, 1000},
                           {"backhaul_last_run_stored_bytes" + l, 300},
                           {"backhaul_last_success_timestamp_seconds" + l, 1741608004.25},
                           {"backhaul_last_run_shrunken" + l, 0},
                           {"backhaul_untouched_objects" + l, 0},
                       }));
}

TEST(MetricsFile, AFailedRunCarriesTheLastSuccessForward) {
    std::string first = metrics_text(outcome(true), std::nullopt);
    std::optional<double> previous = previous_success_timestamp(first, "orders");
    ASSERT_TRUE(previous);
    EXPECT_DOUBLE_EQ(*previous, 1741608004.25);
    EXPECT_FALSE(previous_success_timestamp(first, "other"));
    RunOutcome failed = outcome(false);
    failed.finished += hours(24);
    auto samples = testing::parse_prometheus(metrics_text(failed, previous));
    EXPECT_EQ(samples["backhaul_last_run_success{pipeline=\"orders\"}"], 0);
    EXPECT_EQ(samples["backhaul_last_success_timestamp_seconds{pipeline=\"orders\"}"], 1741608004.25);
    // Never succeeded: 0, so "time() - last success > 26h" fires.
    EXPECT_EQ(testing::parse_prometheus(metrics_text(failed, std::nullopt))["backhaul_last_success_timestamp_seconds{pipeline="
                                                                      "\"orders\"}"],
              0);
}

TEST(MetricsFile, TheParserRejectsWhatPrometheusWould) {
    EXPECT_THROW(testing::parse_prometheus("x 1"), std::runtime_error);
    EXPECT_THROW(testing::parse_prometheus("# TYPE x gauge\nx{a=b} 1\n"), std::runtime_error);
    EXPECT_THROW(testing::parse_prometheus("y 1\n"), std::runtime_error);
}

TEST(ProgressLine, ShowsRateAndEtaOnlyWhenTheSizeIsKnown) {
    EXPECT_EQ(progress_text(10 << 20, 3 << 20, 2.0, -1), "read 10.0 MiB, stored 3.0 MiB, 5.0 MiB/s");
    EXPECT_EQ(progress_text(10 << 20, 3 << 20, 2.0, 40 << 20), "read 10.0 MiB, stored 3.0 MiB, 5.0 MiB/s, 25% ETA 6.00s");
}

TEST(BackupManifest, RoundTripsAndRejectsForeignJson) {
    BackupManifest m;
    m.pipeline = "orders";
    m.key = "orders/1.gz";
    m.started_unix_ms = 1741608000000;
    m.finished_unix_ms = 1741608004250;
    m.duration_ms = 4250;
    m.raw_bytes = 1000;
    m.stored_bytes = 300;
    m.sha256 = std::string(64, 'a');
    m.stages = {{"source", "source-command", "0.1.0", {{"command", "[pg_dump]"}}}};
    m.variables = {{"database", "shop"}};
    BackupManifest back = BackupManifest::from_json(m.to_json());
    EXPECT_EQ(back.to_json(), m.to_json());
    EXPECT_THAT(m.to_json(), ::testing::HasSubstr("\"started_at\": \"2025-03-10T12:00:00Z\""));
    try {
        BackupManifest::from_json(R"({"format": "something-else"})");
        FAIL() << "accepted a foreign document";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "manifest format 'something-else' is not backhaul-manifest/1");
    }
}

}  // namespace
}  // namespace backhaul
