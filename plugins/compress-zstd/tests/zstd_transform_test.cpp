#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "command_runner.hpp"
#include "plugin_harness.hpp"
#include "test_data.hpp"

namespace backhaul {
namespace {

using harness::Instance;
using harness::OptionList;
using harness::Plugin;
using harness::StreamResult;
using testing::pipe_through;
using testing::random_bytes;
using testing::repetitive_text;

// zstd's own block size (ZSTD_BLOCKSIZE_MAX): the round trips cut their sizes around it.
constexpr size_t kZstdBlock = 128 * 1024;

const Plugin& zstd_plugin() {
    static const Plugin plugin("compress-zstd");
    return plugin;
}

StreamResult encode(const std::string& data, const OptionList& options = {}) {
    Instance zstd(zstd_plugin(), options);
    EXPECT_EQ(zstd.create_status(), BH_OK) << zstd.last_error();
    return zstd.transform(BH_ENCODE, data);
}

StreamResult decode(const std::string& data, size_t chunk = 64 * 1024) {
    Instance zstd(zstd_plugin(), {});
    EXPECT_EQ(zstd.create_status(), BH_OK) << zstd.last_error();
    return zstd.transform(BH_DECODE, data, chunk);
}

// Encodes `data`, then checks that the zstd CLI and our own decoder both give it back byte for byte.
void expect_round_trip(const std::string& data, const OptionList& options) {
    StreamResult packed = encode(data, options);
    ASSERT_EQ(packed.status, BH_OK) << packed.error;

    testing::CommandResult check = pipe_through({"zstd", "-t", "-q", "-"}, packed.data);
    EXPECT_EQ(check.exit_code, 0) << "zstd -t: " << check.err;
    testing::CommandResult cli = pipe_through({"zstd", "-d", "-c", "-"}, packed.data);
    EXPECT_EQ(cli.exit_code, 0) << "zstd -dc: " << cli.err;
    EXPECT_TRUE(cli.out == data) << "zstd -dc of " << data.size() << " bytes differs";

    StreamResult unpacked = decode(packed.data);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_TRUE(unpacked.data == data) << "our decoding of " << data.size() << " bytes differs";
}

TEST(CompressZstd, DescriptorDeclaresOptionsAndExt) {
    const bh_plugin_descriptor& d = zstd_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_TRANSFORM);
    EXPECT_STREQ(d.name, "compress-zstd");
    ASSERT_EQ(d.option_count, 3u);
    EXPECT_STREQ(d.options[0].name, "level");
    EXPECT_STREQ(d.options[0].default_value, "3");
    EXPECT_STREQ(d.options[1].name, "threads");
    EXPECT_STREQ(d.options[1].default_value, "0");
    EXPECT_STREQ(d.options[2].name, "long");
    EXPECT_EQ(d.options[2].default_value, nullptr);
    for (uint32_t i = 0; i < d.option_count; ++i) EXPECT_EQ(d.options[i].type, BH_OPT_INT) << d.options[i].name;
    ASSERT_NE(d.variables, nullptr);
    EXPECT_STREQ(d.variables[0], "ext");
    EXPECT_EQ(d.variables[1], nullptr);
}

TEST(CompressZstd, PublishesExtVariable) {
    Instance zstd(zstd_plugin(), {});
    ASSERT_EQ(zstd.create_status(), BH_OK);
    EXPECT_EQ(zstd.host().variables(), (std::map<std::string, std::string>{{"ext", ".zst"}}));
}

void expect_invalid(const OptionList& options, const std::string& message) {
    Instance zstd(zstd_plugin(), options);
    EXPECT_EQ(zstd.create_status(), BH_INVALID_CONFIG);
    EXPECT_EQ(zstd.last_error(), message);
}

// Ranges are limits the host checks (zstd_validate_completeness_test.cpp); what they cannot say is validate's.
TEST(CompressZstd, WindowLogBelowTheMinimumIsInvalidConfig) {
    expect_invalid({{"long", 9}}, "option 'long': must be 0 (off) or a window log between 10 and 27, got 9");
    Instance off(zstd_plugin(), {{"long", 0}});
    EXPECT_EQ(off.create_status(), BH_OK) << off.last_error();
}

constexpr uint64_t MiB = 1 << 20;

TEST(CompressZstd, DeclaresItsLeastMemoryShare) {
    const bh_plugin_descriptor& d = zstd_plugin().descriptor();
    EXPECT_EQ(d.abi_minor, BH_ABI_MINOR);
    EXPECT_EQ(d.memory_min, 10 * MiB);
}

// The default share of a zstd -> S3 pipeline (16.5 MiB, docs/memory.md) gives two workers jobs of 1 MiB instead of
// libzstd's default, which takes about 60 MiB for two workers at level 3.
TEST(CompressZstd, SizesItsJobsFromTheMemoryShare) {
    Instance zstd(zstd_plugin(), {{"threads", 2}}, 33 * MiB / 2);
    ASSERT_EQ(zstd.create_status(), BH_OK) << zstd.last_error();
    EXPECT_EQ(zstd.host().logged(BH_LOG_DEBUG),
              std::vector<std::string>{"memory share 16896 KiB: 2 worker(s), jobs of 1024 KiB"});
    EXPECT_TRUE(zstd.host().logged(BH_LOG_WARN).empty());
    // Four times the share: the jobs grow, up to 8 MiB.
    Instance roomy(zstd_plugin(), {{"threads", 2}}, 66 * MiB);
    EXPECT_EQ(roomy.host().logged(BH_LOG_DEBUG),
              std::vector<std::string>{"memory share 67584 KiB: 2 worker(s), jobs of 7424 KiB"});
}

TEST(CompressZstd, AutomaticThreadsAreAsManyAsTheShareHolds) {
    // One worker fits the least share; two do not.
    Instance zstd(zstd_plugin(), {{"threads", 0}}, 10 * MiB);
    ASSERT_EQ(zstd.create_status(), BH_OK) << zstd.last_error();
    EXPECT_EQ(zstd.host().logged(BH_LOG_DEBUG),
              std::vector<std::string>{"memory share 10240 KiB: 1 worker(s), jobs of 512 KiB"});
    EXPECT_TRUE(zstd.host().logged(BH_LOG_WARN).empty());
    if (std::thread::hardware_concurrency() > 1) {
        EXPECT_EQ(zstd.host().logged(BH_LOG_INFO),
                  std::vector<std::string>{"1 of " + std::to_string(std::thread::hardware_concurrency()) +
                                           " threads fit this stage's share of memory_budget; raise memory_budget to "
                                           "use more"});
    }
}

TEST(CompressZstd, WhatTheOperatorSetIsKeptAndAnOverrunIsSaid) {
    Instance zstd(zstd_plugin(), {{"threads", 4}, {"level", 9}}, 10 * MiB);
    ASSERT_EQ(zstd.create_status(), BH_OK) << zstd.last_error();
    EXPECT_EQ(zstd.host().logged(BH_LOG_DEBUG),
              std::vector<std::string>{"memory share 10240 KiB: 4 worker(s), jobs of 512 KiB"});
    EXPECT_EQ(zstd.host().logged(BH_LOG_WARN),
              std::vector<std::string>{"level 9 with 4 thread(s) needs about 87 MiB, more than this stage's 10 MiB "
                                       "share of memory_budget; raise memory_budget or lower level, threads or long"});
}

// Jobs of 512 KiB: a stream of many jobs is still one frame every decoder reads.
TEST(CompressZstd, SmallJobsRoundTrip) {
    const std::string data = repetitive_text(6 * MiB + 12345);
    Instance zstd(zstd_plugin(), {{"threads", 2}}, 10 * MiB);
    ASSERT_EQ(zstd.create_status(), BH_OK) << zstd.last_error();
    StreamResult packed = zstd.transform(BH_ENCODE, data);
    ASSERT_EQ(packed.status, BH_OK) << packed.error;
    testing::CommandResult cli = pipe_through({"zstd", "-d", "-c", "-"}, packed.data);
    EXPECT_EQ(cli.exit_code, 0) << cli.err;
    EXPECT_TRUE(cli.out == data);
    StreamResult unpacked = decode(packed.data);
    EXPECT_TRUE(unpacked.data == data);
}

// Round trips over the sizes that matter, each on one and on two worker threads.
class ZstdRoundTrip : public ::testing::TestWithParam<int> {
  protected:
    OptionList options() const { return {{"threads", GetParam()}}; }
};

TEST_P(ZstdRoundTrip, EmptyInput) { expect_round_trip("", options()); }
TEST_P(ZstdRoundTrip, OneByte) { expect_round_trip("x", options()); }
TEST_P(ZstdRoundTrip, ExactlyOneBlock) { expect_round_trip(repetitive_text(kZstdBlock), options()); }
TEST_P(ZstdRoundTrip, OneBlockMinusOne) { expect_round_trip(repetitive_text(kZstdBlock - 1), options()); }
TEST_P(ZstdRoundTrip, OneBlockPlusOne) { expect_round_trip(repetitive_text(kZstdBlock + 1), options()); }
TEST_P(ZstdRoundTrip, ManyBlocks) { expect_round_trip(random_bytes(300000, 1) + repetitive_text(12 << 20), options()); }
TEST_P(ZstdRoundTrip, IncompressibleRandomBytes) { expect_round_trip(random_bytes(3 << 20, 42), options()); }
TEST_P(ZstdRoundTrip, HighlyRepetitiveData) { expect_round_trip(std::string(20 << 20, 'a'), options()); }

INSTANTIATE_TEST_SUITE_P(Threads, ZstdRoundTrip, ::testing::Values(1, 2),
                         [](const auto& info) { return "threads" + std::to_string(info.param); });

TEST(CompressZstd, RoundTripsAtLevelsOneAndNineteen) {
    expect_round_trip(repetitive_text(300 * 1024), {{"level", 1}});
    expect_round_trip(repetitive_text(300 * 1024), {{"level", 19}});
}

TEST(CompressZstd, LevelChangesOutputSize) {
    std::string data = random_bytes(64 * 1024, 5) + repetitive_text(1 << 20);
    StreamResult fast = encode(data, {{"level", 1}});
    StreamResult small = encode(data, {{"level", 19}});
    ASSERT_EQ(fast.status, BH_OK);
    ASSERT_EQ(small.status, BH_OK);
    EXPECT_LT(small.data.size(), fast.data.size());
}

// 6 MiB of random bytes, twice: the repeat lies beyond level 3's default 2 MiB window, so only long-distance matching
// with a large enough window finds it.
TEST(CompressZstd, LongWindowFindsDistantRepeats) {
    std::string half = random_bytes(6 << 20, 11);
    std::string data = half + half;
    StreamResult without = encode(data, {{"threads", 2}});
    ASSERT_EQ(without.status, BH_OK) << without.error;
    EXPECT_GT(without.data.size(), data.size() * 9 / 10);
    StreamResult with = encode(data, {{"threads", 2}, {"long", 24}});
    ASSERT_EQ(with.status, BH_OK) << with.error;
    EXPECT_LT(with.data.size(), data.size() * 6 / 10);
    expect_round_trip(data, {{"threads", 2}, {"long", 27}});
}

TEST(CompressZstd, FramesCarryAContentChecksum) {
    std::string data = repetitive_text(100000);
    StreamResult packed = encode(data);
    ASSERT_EQ(packed.status, BH_OK);
    // The last 4 bytes are the checksum: corrupting one must fail the decoding, not go unnoticed.
    packed.data.back() = static_cast<char>(packed.data.back() ^ 0x01);
    StreamResult unpacked = decode(packed.data);
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "invalid zstd data: Restored data doesn't match checksum");
}

TEST(CompressZstd, DecodesZstdCommandOutput) {
    std::string data = repetitive_text(500000);
    testing::CommandResult cli = pipe_through({"zstd", "-19", "-c", "-"}, data);
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    StreamResult unpacked = decode(cli.out);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_TRUE(unpacked.data == data);
}

TEST(CompressZstd, DecodesByteByByteWrites) {
    std::string data = repetitive_text(20000);
    StreamResult packed = encode(data);
    ASSERT_EQ(packed.status, BH_OK);
    StreamResult unpacked = decode(packed.data, 1);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_EQ(unpacked.data, data);
}

TEST(CompressZstd, DecodesConcatenatedFrames) {
    StreamResult first = encode("first frame\n");
    StreamResult second = encode("second frame\n");
    ASSERT_EQ(first.status, BH_OK);
    ASSERT_EQ(second.status, BH_OK);
    StreamResult unpacked = decode(first.data + second.data);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_EQ(unpacked.data, "first frame\nsecond frame\n");
    StreamResult split = decode(first.data + second.data, first.data.size());
    ASSERT_EQ(split.status, BH_OK) << split.error;
    EXPECT_EQ(split.data, "first frame\nsecond frame\n");
}

TEST(CompressZstd, TruncatedInputFailsOnFinish) {
    StreamResult packed = encode(repetitive_text(100000));
    ASSERT_EQ(packed.status, BH_OK);
    StreamResult unpacked = decode(packed.data.substr(0, packed.data.size() - 5));
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "truncated zstd stream");
}

TEST(CompressZstd, TruncatedSecondFrameFailsOnFinish) {
    StreamResult first = encode("complete");
    StreamResult second = encode("cut short");
    StreamResult unpacked = decode(first.data + second.data.substr(0, 6));
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "truncated zstd stream");
}

TEST(CompressZstd, EmptyInputIsNotAZstdStream) {
    StreamResult unpacked = decode("");
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "truncated zstd stream");
}

TEST(CompressZstd, TrailingGarbageAfterFrameIsInvalid) {
    StreamResult packed = encode("payload");
    StreamResult unpacked = decode(packed.data + "garbage!");
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "invalid zstd data: Unknown frame descriptor");
}

// The downstream stage stops taking output mid-stream: the stream reports the cancellation and closing it frees
// libzstd's workers and buffers (the ASan build checks nothing leaks).
TEST(CompressZstd, CancelledOutputStopsTheStream) {
    Instance zstd(zstd_plugin(), {{"threads", 2}});
    harness::TransformStream stream(zstd, BH_ENCODE);
    ASSERT_EQ(stream.open_status(), BH_OK);
    ASSERT_EQ(stream.write(random_bytes(1 << 20, 9)), BH_OK);
    stream.cancel_output();
    bh_status status = BH_OK;
    for (int i = 0; i < 64 && status == BH_OK; ++i) status = stream.write(random_bytes(1 << 20, 10 + i));
    EXPECT_EQ(status, BH_CANCELLED);
    EXPECT_EQ(zstd.last_error(), "cancelled");
}

TEST(CompressZstd, CancelledOutputFailsFinish) {
    Instance zstd(zstd_plugin(), {{"threads", 2}});
    harness::TransformStream stream(zstd, BH_ENCODE);
    ASSERT_EQ(stream.open_status(), BH_OK);
    ASSERT_EQ(stream.write(repetitive_text(1 << 20)), BH_OK);
    stream.cancel_output();
    EXPECT_EQ(stream.finish(), BH_CANCELLED);
    EXPECT_EQ(zstd.last_error(), "cancelled");
}

}  // namespace
}  // namespace backhaul
