// The transform contract (KIND transform): what every compressor, encryptor or other transform must do, through the
// real `backhaul` with the transform between source-command and sink-local:
//   - what it encodes decodes to exactly the stream, for every size from nothing to a large stream, and (when the
//     target names one) an independent decoder reads what it wrote;
//   - decoding a damaged backup fails loudly: cut short anywhere, one byte changed, or data that was never encoded.
//     `verify` must say "decoding failed", which is the transform's own judgement: the SHA-256 check against the
//     manifest is reported apart from it, so a transform that decodes damage into garbage fails this suite.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backhaul/testkit/kit.hpp"

namespace backhaul::testkit {
namespace {

using ::testing::HasSubstr;

TransformTarget& target() {
    static std::unique_ptr<TransformTarget> instance = make_transform_target();
    return *instance;
}

class TransformContract : public ::testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(work_.path() / "target");
        setup_ = target().prepare(work_.path() / "target");
    }

    std::string pipeline(const Generator& source) {
        // allow_empty: the empty stream is one of the round trips.
        const std::string text =
            "name = \"kit\"\nallow_empty = true\nlock_dir = " + toml_quoted((work_.path() / "locks").string()) +
            "\n\n[source]\nplugin = \"source-command\"\ncommand = " + toml_array(source.argv()) +
            "\n\n[[transform]]\nplugin = " + toml_quoted(target().plugin()) + "\n" + setup_.options +
            "\n\n[sink]\nplugin = \"sink-local\"\npath = " + toml_quoted(store().string()) +
            "\nfsync = false\nkey = \"kit/%Y%m%d-%H%M%S{ext}\"\n";
        const std::filesystem::path file = work_.path() / "pipeline.toml";
        write_file(file, text);
        std::filesystem::create_directories(store());
        return file.string();
    }
    std::filesystem::path store() const { return work_.path() / "store"; }
    CommandResult run(const std::vector<std::string>& args) { return backhaul(args, setup_.environment); }

    // Backs up `source` and returns the stored object's key.
    std::string backup(const std::string& file) {
        CommandResult result = run({"run", file});
        EXPECT_EQ(result.exit_code, 0) << result.err;
        CommandResult list = run({"list", file, "--json"});
        EXPECT_EQ(list.exit_code, 0) << list.err;
        const nlohmann::json entries = nlohmann::json::parse(list.out);
        return entries.empty() ? "" : entries.front().at("key").get<std::string>();
    }
    std::filesystem::path object(const std::string& key) const { return store() / key; }

    // The backup no longer decodes: verify names the decoding, and restore fails without leaving a file.
    void expect_rejected(const std::string& file, const std::string& key) {
        CommandResult verify = run({"verify", file, "--key", key});
        EXPECT_EQ(verify.exit_code, 1) << verify.err;
        EXPECT_THAT(verify.err, HasSubstr("decoding failed")) << verify.err;
        const std::filesystem::path restored = work_.path() / "restored.bin";
        CommandResult restore = run({"restore", file, "--key", key, "-o", restored.string()});
        EXPECT_EQ(restore.exit_code, 1) << restore.err;
        EXPECT_FALSE(std::filesystem::exists(restored)) << "a failed restore left " << restored;
    }

    TempDir work_;
    TransformSetup setup_;
};

class TransformRoundTrip : public TransformContract, public ::testing::WithParamInterface<uint64_t> {};

TEST_P(TransformRoundTrip, DecodesExactlyWhatItEncoded) {
    const Generator source = Generator::stream(GetParam(), 41);
    const std::string file = pipeline(source);
    const std::string key = backup(file);
    ASSERT_FALSE(key.empty());
    CommandResult verify = run({"verify", file, "--key", key});
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    const std::filesystem::path restored = work_.path() / "restored.bin";
    CommandResult restore = run({"restore", file, "--key", key, "-o", restored.string()});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_EQ(differs_from_generated(restored, source.seed, source.size), "");
    if (!setup_.independent_decoder.empty()) {
        CommandOptions options;
        options.stdin_data = read_file(object(key));
        CommandResult decoded = run_command(setup_.independent_decoder, options);
        ASSERT_EQ(decoded.exit_code, 0) << setup_.independent_decoder.front() << ": " << decoded.err;
        EXPECT_TRUE(decoded.out == generated(source.seed, source.size))
            << setup_.independent_decoder.front() << " does not read back the stream";
    }
}

// Nothing at all, one byte, a few blocks with a ragged end, and a stream larger than any buffer of the pipeline.
INSTANTIATE_TEST_SUITE_P(Bytes, TransformRoundTrip,
                         ::testing::Values(0, 1, 2 * kGeneratedBlock + 3, (uint64_t{40} << 20) + 1));

class TransformCut : public TransformContract, public ::testing::WithParamInterface<double> {};

TEST_P(TransformCut, RejectsABackupCutShort) {
    const Generator source = Generator::stream(600000, 42);
    const std::string file = pipeline(source);
    const std::string key = backup(file);
    ASSERT_FALSE(key.empty());
    const auto size = std::filesystem::file_size(object(key));
    // GetParam() 1.0 cuts one byte: the very end of the format.
    const auto keep = GetParam() >= 1.0 ? size - 1 : static_cast<uintmax_t>(static_cast<double>(size) * GetParam());
    std::filesystem::resize_file(object(key), keep);
    expect_rejected(file, key);
}

INSTANTIATE_TEST_SUITE_P(Fraction, TransformCut, ::testing::Values(0.5, 1.0));

TEST_F(TransformContract, RejectsABackupWithOneByteChanged) {
    const Generator source = Generator::stream(600000, 43);
    const std::string file = pipeline(source);
    const std::string key = backup(file);
    ASSERT_FALSE(key.empty());
    std::string bytes = read_file(object(key));
    bytes[bytes.size() / 2] ^= 0x10;
    write_file(object(key), bytes);
    expect_rejected(file, key);
}

TEST_F(TransformContract, RejectsDataItNeverEncoded) {
    const Generator source = Generator::stream(600000, 44);
    const std::string file = pipeline(source);
    const std::string key = backup(file);
    ASSERT_FALSE(key.empty());
    write_file(object(key), generated(45, 300000));
    expect_rejected(file, key);
}

}  // namespace
}  // namespace backhaul::testkit
