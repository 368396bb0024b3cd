#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "plugin_harness.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;
using harness::Instance;
using harness::Plugin;
using harness::StreamResult;

const Plugin& gzip_plugin() {
    static const Plugin plugin("compress-gzip");
    return plugin;
}

std::string random_bytes(size_t size, uint32_t seed) {
    std::mt19937 engine(seed);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(engine() & 0xff);
    return out;
}

std::string repetitive_text(size_t size) {
    std::string out;
    for (int line = 0; out.size() < size; ++line)
        out += "INSERT INTO t VALUES (" + std::to_string(line % 1000) + ");\n";
    out.resize(size);
    return out;
}

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "backhaul-gzip-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

void write_file(const fs::path& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

int run_shell(const std::string& command) { return std::system(command.c_str()); }

StreamResult encode(const std::string& data, int level = 6) {
    Instance gz(gzip_plugin(), {{"level", level}});
    EXPECT_EQ(gz.create_status(), BH_OK) << gz.last_error();
    return gz.transform(BH_ENCODE, data);
}

StreamResult decode(const std::string& data, size_t chunk = 64 * 1024) {
    Instance gz(gzip_plugin(), {});
    EXPECT_EQ(gz.create_status(), BH_OK) << gz.last_error();
    return gz.transform(BH_DECODE, data, chunk);
}

void expect_round_trip(const std::string& data, int level = 6) {
    StreamResult packed = encode(data, level);
    ASSERT_EQ(packed.status, BH_OK) << packed.error;
    StreamResult unpacked = decode(packed.data);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_TRUE(unpacked.data == data) << "round trip of " << data.size() << " bytes differs";
}

TEST(CompressGzip, DescriptorDeclaresLevelAndExt) {
    const bh_plugin_descriptor& d = gzip_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_TRANSFORM);
    EXPECT_STREQ(d.name, "compress-gzip");
    ASSERT_EQ(d.option_count, 1u);
    EXPECT_STREQ(d.options[0].name, "level");
    EXPECT_EQ(d.options[0].type, BH_OPT_INT);
    EXPECT_STREQ(d.options[0].default_value, "6");
    ASSERT_NE(d.variables, nullptr);
    EXPECT_STREQ(d.variables[0], "ext");
    EXPECT_EQ(d.variables[1], nullptr);
}

TEST(CompressGzip, PublishesExtVariable) {
    Instance gz(gzip_plugin(), {});
    ASSERT_EQ(gz.create_status(), BH_OK);
    EXPECT_EQ(gz.host().variables(), (std::map<std::string, std::string>{{"ext", ".gz"}}));
}

TEST(CompressGzip, LevelOutOfRangeIsInvalidConfig) {
    Instance high(gzip_plugin(), {{"level", 12}});
    EXPECT_EQ(high.create_status(), BH_INVALID_CONFIG);
    EXPECT_EQ(high.last_error(), "option 'level' must be between 0 and 9, got 12");
    Instance negative(gzip_plugin(), {{"level", -1}});
    EXPECT_EQ(negative.create_status(), BH_INVALID_CONFIG);
    EXPECT_EQ(negative.last_error(), "option 'level' must be between 0 and 9, got -1");
}

TEST(CompressGzip, RoundTripsEmptyInput) { expect_round_trip(""); }
TEST(CompressGzip, RoundTripsOneByte) { expect_round_trip("x"); }
TEST(CompressGzip, RoundTripsOneMebibyteOfRandomBytes) { expect_round_trip(random_bytes(1 << 20, 42)); }
TEST(CompressGzip, RoundTripsTenMebibytesOfRepetitiveText) { expect_round_trip(repetitive_text(10 << 20)); }
TEST(CompressGzip, RoundTripsAtLevelsZeroAndNine) {
    expect_round_trip(repetitive_text(300 * 1024), 0);
    expect_round_trip(repetitive_text(300 * 1024), 9);
}

TEST(CompressGzip, LevelChangesOutputSize) {
    std::string data = repetitive_text(1 << 20);
    StreamResult stored = encode(data, 0);
    StreamResult best = encode(data, 9);
    ASSERT_EQ(stored.status, BH_OK);
    ASSERT_EQ(best.status, BH_OK);
    EXPECT_GT(stored.data.size(), data.size());  // level 0 stores blocks verbatim plus framing
    EXPECT_LT(best.data.size(), data.size() / 10);
}

TEST(CompressGzip, DecodesByteByByteWrites) {
    std::string data = repetitive_text(20000);
    StreamResult packed = encode(data);
    ASSERT_EQ(packed.status, BH_OK);
    StreamResult unpacked = decode(packed.data, 1);
    ASSERT_EQ(unpacked.status, BH_OK) << unpacked.error;
    EXPECT_EQ(unpacked.data, data);
}

TEST(CompressGzip, OutputIsReadByGunzip) {
    TempDir dir;
    std::string data = random_bytes(300000, 7) + repetitive_text(700000);
    StreamResult packed = encode(data);
    ASSERT_EQ(packed.status, BH_OK);
    write_file(dir.path() / "data.gz", packed.data);
    ASSERT_EQ(
        run_shell("gunzip -c '" + (dir.path() / "data.gz").string() + "' > '" + (dir.path() / "data").string() + "'"),
        0);
    EXPECT_TRUE(read_file(dir.path() / "data") == data);
}

TEST(CompressGzip, DecodesGzipCommandOutput) {
    TempDir dir;
    std::string data = repetitive_text(500000);
    write_file(dir.path() / "data", data);
    ASSERT_EQ(
        run_shell("gzip -9 -c '" + (dir.path() / "data").string() + "' > '" + (dir.path() / "data.gz").string() + "'"),
        0);
    StreamResult unpacked = decode(read_file(dir.path() / "data.gz"));
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

TEST(CompressGzip, GarbageIsInvalidGzipData) {
    StreamResult unpacked = decode("this is not gzip at all");
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "invalid gzip data: incorrect header check");
}

TEST(CompressGzip, TrailingGarbageAfterMemberIsInvalid) {
    StreamResult packed = encode("payload");
    StreamResult unpacked = decode(packed.data + "garbage!");
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "invalid gzip data: incorrect header check");
}

TEST(CompressGzip, CorruptedPayloadFailsTheCrcCheck) {
    std::string data = random_bytes(4096, 3);
    StreamResult packed = encode(data, 0);  // stored blocks: flipping a payload byte keeps the deflate stream valid
    ASSERT_EQ(packed.status, BH_OK);
    packed.data[100] = static_cast<char>(packed.data[100] ^ 0x01);
    StreamResult unpacked = decode(packed.data);
    EXPECT_EQ(unpacked.status, BH_FATAL);
    EXPECT_EQ(unpacked.error, "invalid gzip data: incorrect data check");
}

TEST(CompressGzip, CancelledOutputStopsTheStream) {
    Instance gz(gzip_plugin(), {});
    harness::TransformStream stream(gz, BH_ENCODE);
    ASSERT_EQ(stream.open_status(), BH_OK);
    stream.cancel_output();
    EXPECT_EQ(stream.write(random_bytes(1 << 20, 9)), BH_CANCELLED);
    EXPECT_EQ(gz.last_error(), "cancelled");
}

}  // namespace
}  // namespace backhaul
