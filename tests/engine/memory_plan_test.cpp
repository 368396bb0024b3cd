// How memory_budget is split (docs/memory.md): per stream at once, the engine's queues first, then the buffering stages
// in proportion to their minimums; a budget that cannot cover them is refused at its value, the default grows instead.
#include "engine/memory_plan.hpp"

#include <gtest/gtest.h>

#include "config/pipeline_spec.hpp"

namespace backhaul {
namespace {

constexpr uint64_t MiB = 1 << 20;

PipelineSpec spec_with(std::optional<int64_t> budget, int jobs = 1) {
    PipelineSpec spec;
    spec.file = "p.toml";
    spec.memory_budget = budget;
    spec.memory_budget_where = {"p.toml", 3, 17};
    spec.jobs = jobs;
    return spec;
}

const std::vector<MemoryDemand> kZstdToS3 = {{"transform[0] (compress-zstd)", 10 * MiB},
                                             {"sink (sink-ncloud-s3)", 10 * MiB}};

TEST(MemoryPlan, EngineQueuesCountEveryLinkAndEachSinkOfSeveral) {
    // source -> zstd -> sink: two queues of 2 MiB, three threads holding a 1 MiB chunk.
    EXPECT_EQ(engine_memory_per_stream(1, 1), 7 * MiB);
    // No transform: one queue, two threads.
    EXPECT_EQ(engine_memory_per_stream(0, 1), 4 * MiB);
    // Two sinks: each has its own queue and writer thread on top.
    EXPECT_EQ(engine_memory_per_stream(1, 2), 13 * MiB);
}

TEST(MemoryPlan, TheDefaultGivesOneStreamFortyMiBSharedInProportionToTheMinimums) {
    ConfigProblems problems;
    const MemoryPlan plan = plan_memory(spec_with(std::nullopt), false, 1, 1, kZstdToS3, problems);
    EXPECT_TRUE(problems.empty());
    EXPECT_TRUE(plan.budget_is_default);
    EXPECT_EQ(plan.budget, 40 * MiB);
    ASSERT_EQ(plan.shares.size(), 2u);
    EXPECT_EQ(plan.shares[0].second, 33 * MiB / 2);
    EXPECT_EQ(plan.shares[1].second, 33 * MiB / 2);
    uint64_t total = plan.engine_per_stream;
    for (const auto& [label, share] : plan.shares) total += share;
    EXPECT_LE(total, plan.budget);
    EXPECT_EQ(plan.summary(),
              "memory budget 40.0 MiB (default): engine queues 7.0 MiB, transform[0] (compress-zstd) 16.5 MiB, "
              "sink (sink-ncloud-s3) 16.5 MiB");

    // A stage with a smaller minimum gets a smaller share: the same multiple of what it needs.
    const MemoryPlan gzip =
        plan_memory(spec_with(std::nullopt), false, 1, 1,
                    {{"transform[0] (compress-gzip)", 3 * MiB}, {"sink (sink-ncloud-s3)", 10 * MiB}}, problems);
    EXPECT_EQ(gzip.shares[0].second, static_cast<uint64_t>(33.0L * MiB * 3 / 13));
    EXPECT_EQ(gzip.shares[1].second, static_cast<uint64_t>(33.0L * MiB * 10 / 13));
}

TEST(MemoryPlan, SetsDivideTheBudgetBetweenTheStreamsRunningAtOnce) {
    ConfigProblems problems;
    const MemoryPlan set = plan_memory(spec_with(160 * MiB, 4), true, 1, 1, kZstdToS3, problems);
    EXPECT_TRUE(problems.empty());
    EXPECT_EQ(set.streams_at_once, 4);
    EXPECT_EQ(set.per_stream, 40 * MiB);
    EXPECT_EQ(set.shares[0].second, 33 * MiB / 2);
    // jobs only matters for a set: one stream runs at once otherwise.
    const MemoryPlan single = plan_memory(spec_with(160 * MiB, 4), false, 1, 1, kZstdToS3, problems);
    EXPECT_EQ(single.streams_at_once, 1);
    EXPECT_EQ(single.per_stream, 160 * MiB);
    // The default grows with jobs.
    EXPECT_EQ(plan_memory(spec_with(std::nullopt, 3), true, 1, 1, kZstdToS3, problems).budget, 120 * MiB);
}

TEST(MemoryPlan, ABudgetTooSmallIsRefusedAtItsValueWithTheLeastThatFits) {
    ConfigProblems problems;
    plan_memory(spec_with(20 * MiB), false, 1, 1, kZstdToS3, problems);
    ASSERT_FALSE(problems.empty());
    const std::string message = ConfigError(problems.list()).what();
    EXPECT_EQ(message,
              "p.toml:3:17: 'memory_budget' 20.0 MiB is too small: the engine's queues take 7.0 MiB and the buffering "
              "stages need at least transform[0] (compress-zstd) 10.0 MiB, sink (sink-ncloud-s3) 10.0 MiB; set "
              "memory_budget to at least 27.0 MiB");
    // Exactly that is enough.
    ConfigProblems none;
    const MemoryPlan fits = plan_memory(spec_with(27 * MiB), false, 1, 1, kZstdToS3, none);
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(fits.shares[0].second, 10 * MiB);
}

TEST(MemoryPlan, TheDefaultNeverRefusesAPipelineItGrowsToWhatTheStagesNeed) {
    // Three buffering sinks behind zstd need more than 40 MiB.
    const std::vector<MemoryDemand> demands = {{"transform[0] (compress-zstd)", 10 * MiB},
                                               {"sink.a (sink-ncloud-s3)", 10 * MiB},
                                               {"sink.b (sink-ncloud-s3)", 10 * MiB},
                                               {"sink.c (sink-ncloud-s3)", 10 * MiB}};
    ConfigProblems problems;
    const MemoryPlan plan = plan_memory(spec_with(std::nullopt), false, 1, 3, demands, problems);
    EXPECT_TRUE(problems.empty());
    EXPECT_EQ(plan.budget, engine_memory_per_stream(1, 3) + 40 * MiB);
    for (const auto& [label, share] : plan.shares) EXPECT_EQ(share, 10 * MiB) << label;
}

TEST(MemoryPlan, StagesThatDoNotBufferTakeNoShare) {
    ConfigProblems problems;
    const MemoryPlan plan = plan_memory(spec_with(std::nullopt), false, 1, 1, {}, problems);
    EXPECT_TRUE(plan.shares.empty());
    EXPECT_EQ(plan.summary(), "memory budget 40.0 MiB (default): engine queues 7.0 MiB");
}

}  // namespace
}  // namespace backhaul
