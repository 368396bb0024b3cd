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
    o.stream_count = 1;
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
                           {"backhaul_last_run_streams" + l, 1},
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
    EXPECT_EQ(testing::parse_prometheus(
                  metrics_text(failed, std::nullopt))["backhaul_last_success_timestamp_seconds{pipeline="
                                                      "\"orders\"}"],
              0);
}

TEST(MetricsFile, TheParserRejectsWhatPrometheusWould) {
    EXPECT_THROW(testing::parse_prometheus("x 1"), std::runtime_error);
    EXPECT_THROW(testing::parse_prometheus("# TYPE x gauge\nx{a=b} 1\n"), std::runtime_error);
    EXPECT_THROW(testing::parse_prometheus("y 1\n"), std::runtime_error);
}

TEST(ProgressLine, ShowsPercentageAndEtaOnlyWhenTheSizeIsKnown) {
    EXPECT_EQ(progress_text(10 << 20, 3 << 20, 5 << 20, -1), "read 10.0 MiB, stored 3.0 MiB, 5.0 MiB/s");
    EXPECT_EQ(progress_text(10 << 20, 3 << 20, 5 << 20, 0), "read 10.0 MiB, stored 3.0 MiB, 5.0 MiB/s");
    EXPECT_EQ(progress_text(10 << 20, 3 << 20, 5 << 20, 40 << 20),
              "read 10.0 MiB of ~40.0 MiB (25%), stored 3.0 MiB, 5.0 MiB/s, ETA 6s");
    EXPECT_EQ(progress_text(0, 0, 1 << 20, int64_t{1} << 30),
              "read 0 B of ~1.0 GiB (0%), stored 0 B, 1.0 MiB/s, ETA 17m04s");
    EXPECT_EQ(progress_text(0, 0, 1 << 10, int64_t{100} << 30),
              "read 0 B of ~100.0 GiB (0%), stored 0 B, 1.0 KiB/s, ETA 29127h06m40s");
}

// The end is when the source says so: an estimate that is reached or exceeded never shows 100% or a wrong figure.
TEST(ProgressLine, NeverClaims100PercentAndSaysWhenTheEstimateWasExceeded) {
    EXPECT_EQ(progress_text((40 << 20) - 1, 0, 1 << 20, 40 << 20),
              "read 40.0 MiB of ~40.0 MiB (99%), stored 0 B, 1.0 MiB/s, ETA 1s");
    EXPECT_EQ(progress_text(40 << 20, 0, 1 << 20, 40 << 20),
              "read 40.0 MiB (past the estimated 40.0 MiB), stored 0 B, 1.0 MiB/s");
    EXPECT_EQ(progress_text(50 << 20, 7 << 20, 2 << 20, 40 << 20),
              "read 50.0 MiB (past the estimated 40.0 MiB), stored 7.0 MiB, 2.0 MiB/s");
}

TEST(ProgressLine, NoEtaWhileNothingMoves) {
    EXPECT_EQ(progress_text(10 << 20, 3 << 20, 0, 40 << 20), "read 10.0 MiB of ~40.0 MiB (25%), stored 3.0 MiB, 0 B/s");
}

using Clock = ProgressMeter::Clock;
constexpr uint64_t kMiB = 1 << 20;

TEST(ProgressMeter, RateIsTheLastWindowNotTheWholeRunAverage) {
    const Clock::time_point t0{};
    ProgressMeter meter(t0, std::chrono::seconds(5));
    EXPECT_EQ(meter.rate(), 0);
    uint64_t read = 0;
    // 10 s at 10 MiB/s, then 10 s at 1 MiB/s, sampled twice a second as the progress line does.
    for (int tick = 1; tick <= 40; ++tick) {
        read += tick <= 20 ? 5 * kMiB : kMiB / 2;
        meter.update(t0 + std::chrono::milliseconds(500 * tick), read, 0, -1);
        if (tick == 20) {
            EXPECT_DOUBLE_EQ(meter.rate(), 10.0 * kMiB);
        }
    }
    // The run's average is 5.5 MiB/s; the last 5 s moved 1 MiB/s.
    EXPECT_DOUBLE_EQ(meter.rate(), 1.0 * kMiB);
    EXPECT_EQ(meter.update(t0 + std::chrono::milliseconds(20'500), read + kMiB / 2, 2 * kMiB, -1),
              "read 110.5 MiB, stored 2.0 MiB, 1.0 MiB/s");
}

TEST(ProgressMeter, AStalledSourceDropsToZeroWithinAWindow) {
    const Clock::time_point t0{};
    ProgressMeter meter(t0, std::chrono::seconds(5));
    meter.update(t0 + std::chrono::seconds(1), 10 * kMiB, 0, 100 * kMiB);
    EXPECT_DOUBLE_EQ(meter.rate(), 10.0 * kMiB);
    for (int s = 2; s <= 6; ++s) meter.update(t0 + std::chrono::seconds(s), 10 * kMiB, 0, 100 * kMiB);
    EXPECT_EQ(meter.rate(), 0);
    EXPECT_EQ(meter.update(t0 + std::chrono::seconds(7), 10 * kMiB, 0, 100 * kMiB),
              "read 10.0 MiB of ~100.0 MiB (10%), stored 0 B, 0 B/s");
}

TEST(ProgressMeter, EtaFollowsTheCurrentRate) {
    const Clock::time_point t0{};
    ProgressMeter meter(t0, std::chrono::seconds(5));
    // 60 MiB in the first second, then 1 MiB/s: the ETA for the remaining 100 MiB is 100 s once the window has
    // forgotten the burst (a whole-run average would say 13 s).
    meter.update(t0 + std::chrono::seconds(1), 60 * kMiB, 0, 200 * kMiB);
    std::string line;
    for (int s = 2; s <= 41; ++s) line = meter.update(t0 + std::chrono::seconds(s), (59 + s) * kMiB, 0, 200 * kMiB);
    EXPECT_EQ(line, "read 100.0 MiB of ~200.0 MiB (50%), stored 0 B, 1.0 MiB/s, ETA 1m40s");
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
