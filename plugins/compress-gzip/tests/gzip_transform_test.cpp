#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <thread>

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

// The parallel encoder's block size (gzip::kParallelBlockSize): the round trips cut their sizes around it.
constexpr size_t kBlock = 128 * 1024;

const Plugin& gzip_plugin() {
    static const Plugin plugin("compress-gzip");
    return plugin;
}

// Compresses about as well as a SQL dump (3-4x): random numbers and words from a small vocabulary.
std::string dump_like_text(size_t size) {
    static const char* const kWords[] = {"alpha",   "backup",  "customer", "delta",   "order",  "paid",
                                         "pending", "shipped", "refund",   "invoice", "Berlin", "Lisbon"};
    std::mt19937 engine(17);
    std::string out;
    while (out.size() < size)
        out += std::to_string(engine() % 100000) + "\t" + kWords[engine() % 12] + " " + kWords[engine() % 12] + "\t" +
               std::to_string(engine() % 1000) + "." + std::to_string(engine() % 100) + "\n";
    out.resize(size);
    return out;
}

StreamResult encode(const std::string& data, const OptionList& options = {}, size_t chunk = 64 * 1024) {
    Instance gz(gzip_plugin(), options);
    EXPECT_EQ(gz.create_status(), BH_OK) << gz.last_error();
    return gz.transform(BH_ENCODE, data, chunk);
}

StreamResult decode(const std::string& data, size_t chunk = 64 * 1024) {
    Instance gz(gzip_plugin(), {});
    EXPECT_EQ(gz.create_status(), BH_OK) << gz.last_error();
    return gz.transform(BH_DECODE, data, chunk);
}

// Encodes `data`, then checks that gunzip, zcat and our own decoder all give it back byte for byte.
void expect_round_trip(const std::string& data, const OptionList& options) {
    StreamResult packed = encode(data, options);
    ASSERT_EQ(packed.status, BH_OK) << packed.error;

    testing::CommandResult check = pipe_through({"gunzip", "-t"}, packed.data);
    EXPECT_EQ(check.exit_code, 0) << "gunzip -t: " << check.err;
    testing::CommandResult cli = pipe_through({"zcat"}, packed.data);
    EXPECT_EQ(cli.exit_code, 0) << "zcat: " << cli.err;
    EXPECT_TRUE(cli.out == data) << "zcat of " << data.size() << " bytes differs";

    StreamResult unpacked = decode(packed.data);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_TRUE(unpacked.data == data) << "our decoding of " << data.size() << " bytes differs";
}

TEST(CompressGzip, DescriptorDeclaresOptionsAndExt) {
    const bh_plugin_descriptor& d = gzip_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_TRANSFORM);
    EXPECT_STREQ(d.name, "compress-gzip");
    ASSERT_EQ(d.option_count, 2u);
    EXPECT_STREQ(d.options[0].name, "level");
    EXPECT_EQ(d.options[0].type, BH_OPT_INT);
    EXPECT_STREQ(d.options[0].default_value, "6");
    EXPECT_STREQ(d.options[1].name, "threads");
    EXPECT_EQ(d.options[1].type, BH_OPT_INT);
    EXPECT_STREQ(d.options[1].default_value, "0");
    ASSERT_NE(d.variables, nullptr);
    EXPECT_STREQ(d.variables[0], "ext");
    EXPECT_EQ(d.variables[1], nullptr);
}

TEST(CompressGzip, PublishesExtVariable) {
    Instance gz(gzip_plugin(), {});
    ASSERT_EQ(gz.create_status(), BH_OK);
    EXPECT_EQ(gz.host().variables(), (std::map<std::string, std::string>{{"ext", ".gz"}}));
}

// The ranges are data the host checks before create (and `backhaul validate` with a position): what is refused is in
// gzip_validate_completeness_test.cpp.
TEST(CompressGzip, DeclaresTheRangesOfLevelAndThreads) {
    const bh_plugin_descriptor& d = gzip_plugin().descriptor();
    ASSERT_EQ(d.limit_count, 2u);
    EXPECT_STREQ(d.limits[0].option, "level");
    EXPECT_EQ(d.limits[0].flags, BH_LIMIT_MIN | BH_LIMIT_MAX);
    EXPECT_EQ(d.limits[0].min, 0);
    EXPECT_EQ(d.limits[0].max, 9);
    EXPECT_STREQ(d.limits[1].option, "threads");
    EXPECT_EQ(d.limits[1].min, 0);
    EXPECT_EQ(d.limits[1].max, 256);
}

constexpr uint64_t KiB = 1024;

// Each parallel worker holds about 1.5 MiB (docs/memory.md); `threads = 0` takes only as many as the share holds.
TEST(CompressGzip, AutomaticThreadsAreAsManyAsTheMemoryShareHolds) {
    EXPECT_EQ(gzip_plugin().descriptor().memory_min, 3072 * KiB);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    Instance gz(gzip_plugin(), {{"threads", 0}}, 1536 * KiB);
    ASSERT_EQ(gz.create_status(), BH_OK) << gz.last_error();
    if (cores > 1) {
        EXPECT_EQ(gz.host().logged(BH_LOG_INFO),
                  std::vector<std::string>{"1 of " + std::to_string(cores) +
                                           " threads fit this stage's share of memory_budget; "
                                           "raise memory_budget to use more"});
    }
    EXPECT_TRUE(gz.host().logged(BH_LOG_WARN).empty());
    // Room for every core: nothing to say.
    Instance roomy(gzip_plugin(), {{"threads", 0}}, cores * 1536 * KiB);
    EXPECT_TRUE(roomy.host().log().empty());
}

TEST(CompressGzip, ExplicitThreadsAreKeptAndAnOverrunIsSaid) {
    Instance gz(gzip_plugin(), {{"threads", 8}}, 3072 * KiB);
    ASSERT_EQ(gz.create_status(), BH_OK) << gz.last_error();
    EXPECT_EQ(gz.host().logged(BH_LOG_WARN),
              std::vector<std::string>{"threads = 8 needs about 12 MiB, more than this stage's 3 MiB share of "
                                       "memory_budget; raise memory_budget or lower threads"});
    StreamResult packed = gz.transform(BH_ENCODE, std::string(1 << 20, 'a'));
    ASSERT_EQ(packed.status, BH_OK) << packed.error;
    EXPECT_EQ(pipe_through({"zcat"}, packed.data).out, std::string(1 << 20, 'a'));
}

// Round trips over the sizes that matter, through the single-stream path (1) and the parallel one (2, 3).
class GzipRoundTrip : public ::testing::TestWithParam<int> {
  protected:
    OptionList options(int level = 6) const { return {{"threads", GetParam()}, {"level", level}}; }
};

TEST_P(GzipRoundTrip, EmptyInput) { expect_round_trip("", options()); }
TEST_P(GzipRoundTrip, OneByte) { expect_round_trip("x", options()); }
TEST_P(GzipRoundTrip, ExactlyOneBlock) { expect_round_trip(repetitive_text(kBlock), options()); }
TEST_P(GzipRoundTrip, OneBlockMinusOne) { expect_round_trip(repetitive_text(kBlock - 1), options()); }
TEST_P(GzipRoundTrip, OneBlockPlusOne) { expect_round_trip(repetitive_text(kBlock + 1), options()); }
TEST_P(GzipRoundTrip, ExactlyTwoBlocks) { expect_round_trip(dump_like_text(2 * kBlock), options()); }
TEST_P(GzipRoundTrip, ManyBlocks) { expect_round_trip(random_bytes(300000, 7) + dump_like_text(10 << 20), options()); }
TEST_P(GzipRoundTrip, IncompressibleRandomBytes) { expect_round_trip(random_bytes(3 << 20, 42), options()); }
TEST_P(GzipRoundTrip, HighlyRepetitiveData) { expect_round_trip(std::string(20 << 20, 'a'), options()); }
TEST_P(GzipRoundTrip, LevelsZeroOneAndNine) {
    std::string data = random_bytes(100000, 3) + dump_like_text(5 * kBlock / 2);
    for (int level : {0, 1, 9}) {
        SCOPED_TRACE("level " + std::to_string(level));
        expect_round_trip(data, options(level));
    }
}

INSTANTIATE_TEST_SUITE_P(Threads, GzipRoundTrip, ::testing::Values(1, 2, 3),
                         [](const auto& info) { return "threads" + std::to_string(info.param); });

TEST(CompressGzip, LevelChangesOutputSize) {
    std::string data = repetitive_text(1 << 20);
    for (int threads : {1, 2}) {
        StreamResult stored = encode(data, {{"level", 0}, {"threads", threads}});
        StreamResult best = encode(data, {{"level", 9}, {"threads", threads}});
        ASSERT_EQ(stored.status, BH_OK);
        ASSERT_EQ(best.status, BH_OK);
        EXPECT_GT(stored.data.size(), data.size());  // level 0 stores blocks verbatim plus framing
        EXPECT_LT(best.data.size(), data.size() / 10);
    }
}

// pigz's promise: splitting into blocks primed with the previous 32 KiB costs almost nothing.
TEST(CompressGzip, ParallelOutputIsWithinOnePercentOfSingleStream) {
    std::string data = dump_like_text(8 << 20);
    StreamResult single = encode(data, {{"threads", 1}});
    StreamResult parallel = encode(data, {{"threads", 2}});
    ASSERT_EQ(single.status, BH_OK);
    ASSERT_EQ(parallel.status, BH_OK);
    EXPECT_LT(single.data.size(), data.size() / 2);  // the data does compress: the comparison means something
    double ratio = static_cast<double>(parallel.data.size()) / static_cast<double>(single.data.size());
    EXPECT_NEAR(ratio, 1.0, 0.01) << single.data.size() << " vs " << parallel.data.size() << " bytes";
}

TEST(CompressGzip, ParallelOutputIsOneMemberWithTheSingleStreamHeaderAndTrailer) {
    std::string data = dump_like_text(3 * kBlock + 12345);
    for (int level : {1, 6, 9}) {
        SCOPED_TRACE("level " + std::to_string(level));
        StreamResult single = encode(data, {{"threads", 1}, {"level", level}});
        StreamResult parallel = encode(data, {{"threads", 2}, {"level", level}});
        ASSERT_EQ(parallel.status, BH_OK);
        EXPECT_EQ(parallel.data.substr(0, 10), single.data.substr(0, 10));  // XFL follows the level, as in zlib
        EXPECT_EQ(parallel.data.substr(parallel.data.size() - 8), single.data.substr(single.data.size() - 8));

        // One inflate of one gzip member consumes the whole output: no second member, nothing after it.
        z_stream stream{};
        ASSERT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
        std::string out(data.size() + 1, '\0');
        stream.next_in = reinterpret_cast<Bytef*>(parallel.data.data());
        stream.avail_in = static_cast<uInt>(parallel.data.size());
        stream.next_out = reinterpret_cast<Bytef*>(out.data());
        stream.avail_out = static_cast<uInt>(out.size());
        EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
        EXPECT_EQ(stream.avail_in, 0u);
        EXPECT_EQ(stream.total_out, data.size());
        inflateEnd(&stream);
    }
}

// Blocks depend on the input only, not on the number of workers or on how the input arrives.
TEST(CompressGzip, ParallelOutputDependsOnlyOnTheInput) {
    std::string data = random_bytes(50000, 1) + dump_like_text(4 * kBlock);
    StreamResult two = encode(data, {{"threads", 2}});
    StreamResult five = encode(data, {{"threads", 5}});
    StreamResult odd_writes = encode(data, {{"threads", 2}}, 777);
    ASSERT_EQ(two.status, BH_OK);
    EXPECT_TRUE(two.data == five.data);
    EXPECT_TRUE(two.data == odd_writes.data);
}

TEST(CompressGzip, DefaultThreadsUsesTheParallelPath) {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU core: the default is the single stream";
    std::string data = dump_like_text(3 * kBlock);
    EXPECT_TRUE(encode(data).data == encode(data, {{"threads", 2}}).data);
    EXPECT_FALSE(encode(data).data == encode(data, {{"threads", 1}}).data);
}

TEST(CompressGzip, DecodesByteByByteWrites) {
    std::string data = repetitive_text(20000);
    StreamResult packed = encode(data);
    ASSERT_EQ(packed.status, BH_OK);
    StreamResult unpacked = decode(packed.data, 1);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_EQ(unpacked.data, data);
}

TEST(CompressGzip, DecodesGzipCommandOutput) {
    std::string data = repetitive_text(500000);
    testing::CommandResult cli = pipe_through({"gzip", "-9", "-c"}, data);
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    StreamResult unpacked = decode(cli.out);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_TRUE(unpacked.data == data);
}

TEST(CompressGzip, DecodesConcatenatedMembers) {
    StreamResult first = encode("first member\n");
    StreamResult second = encode("second member\n");
    ASSERT_EQ(first.status, BH_OK);
    ASSERT_EQ(second.status, BH_OK);
    StreamResult unpacked = decode(first.data + second.data);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_EQ(unpacked.data, "first member\nsecond member\n");
    // Split at the member boundary: the second member starts in a write of its own.
    StreamResult split = decode(first.data + second.data, first.data.size());
    ASSERT_EQ(split.status, BH_OK) << split.error;
    EXPECT_EQ(split.data, "first member\nsecond member\n");
}

TEST(CompressGzip, TruncatedInputFailsOnFinish) {
    StreamResult packed = encode(repetitive_text(100000));
    ASSERT_EQ(packed.status, BH_OK);
    StreamResult unpacked = decode(packed.data.substr(0, packed.data.size() - 5));
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "truncated gzip stream");
}

TEST(CompressGzip, TruncatedSecondMemberFailsOnFinish) {
    StreamResult first = encode("complete");
    StreamResult second = encode("cut short");
    StreamResult unpacked = decode(first.data + second.data.substr(0, 12));
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "truncated gzip stream");
}

TEST(CompressGzip, EmptyInputIsNotAGzipStream) {
    StreamResult unpacked = decode("");
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "truncated gzip stream");
}

TEST(CompressGzip, TrailingGarbageAfterMemberIsInvalid) {
    StreamResult packed = encode("payload");
    StreamResult unpacked = decode(packed.data + "garbage!");
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "invalid gzip data: incorrect header check");
}

TEST(CompressGzip, CorruptedPayloadFailsTheCrcCheck) {
    // Several blocks, so the parallel path's combined CRC is what catches it.
    std::string data = random_bytes(3 * kBlock, 3);
    for (int threads : {1, 2}) {
        // Stored blocks: flipping a payload byte keeps the deflate stream valid.
        StreamResult packed = encode(data, {{"level", 0}, {"threads", threads}});
        ASSERT_EQ(packed.status, BH_OK);
        size_t at = packed.data.size() - 1000;
        packed.data[at] = static_cast<char>(packed.data[at] ^ 0x01);
        StreamResult unpacked = decode(packed.data);
        EXPECT_EQ(unpacked.status, BH_FATAL);
        EXPECT_EQ(unpacked.error, "invalid gzip data: incorrect data check");
    }
}

// The downstream stage stops taking output mid-stream: the stream reports the cancellation, and closing it stops and
// joins the workers and frees every block (the ASan build checks nothing leaks).
class GzipCancellation : public ::testing::TestWithParam<int> {};

TEST_P(GzipCancellation, CancelledOutputStopsWrites) {
    Instance gz(gzip_plugin(), {{"threads", GetParam()}});
    harness::TransformStream stream(gz, BH_ENCODE);
    ASSERT_EQ(stream.open_status(), BH_OK);
    ASSERT_EQ(stream.write(random_bytes(1 << 20, 9)), BH_OK);
    stream.cancel_output();
    bh_status status = BH_OK;
    for (int i = 0; i < 64 && status == BH_OK; ++i) status = stream.write(random_bytes(kBlock, 10 + i));
    EXPECT_EQ(status, BH_CANCELLED);
    EXPECT_EQ(gz.last_error(), "cancelled");
}

TEST_P(GzipCancellation, CancelledOutputFailsFinish) {
    Instance gz(gzip_plugin(), {{"threads", GetParam()}});
    harness::TransformStream stream(gz, BH_ENCODE);
    ASSERT_EQ(stream.open_status(), BH_OK);
    ASSERT_EQ(stream.write(dump_like_text(5 * kBlock)), BH_OK);
    stream.cancel_output();
    EXPECT_EQ(stream.finish(), BH_CANCELLED);
    EXPECT_EQ(gz.last_error(), "cancelled");
}

TEST_P(GzipCancellation, StreamClosedMidWayWithoutFinish) {
    Instance gz(gzip_plugin(), {{"threads", GetParam()}});
    harness::TransformStream stream(gz, BH_ENCODE);
    ASSERT_EQ(stream.open_status(), BH_OK);
    ASSERT_EQ(stream.write(dump_like_text(20 * kBlock + 5)), BH_OK);
    stream.close();  // blocks still compressing on the workers
    EXPECT_EQ(gz.host().error_count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Threads, GzipCancellation, ::testing::Values(1, 2),
                         [](const auto& info) { return "threads" + std::to_string(info.param); });

}  // namespace
}  // namespace backhaul
