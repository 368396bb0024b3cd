// The sink contract (KIND sink): what every sink must do, through the real `backhaul` and checked with the target's
// own view of the backend, never the plugin's:
//   - a run stores exactly the stream under its key, and list, verify and restore read it back (small and large);
//   - a run that fails or is cancelled at an exact byte leaves nothing at all (no object, temporary or part);
//   - an existing object is never replaced, whether it was there before the run or appeared during the upload;
//   - retention removes exactly the oldest backup of this pipeline and nothing that is not provably its own;
//   - verify notices an object that changed after the backup.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "backhaul/testkit/kit.hpp"

namespace backhaul::testkit {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

SinkTarget& target() {
    static std::unique_ptr<SinkTarget> instance = make_sink_target();
    return *instance;
}

std::string describe(const std::vector<StoredObject>& objects) {
    std::string out;
    for (const StoredObject& o : objects) out += "\n  " + o.key + " (" + std::to_string(o.bytes) + " bytes)";
    return objects.empty() ? "nothing" : out;
}

class SinkContract : public ::testing::Test {
  protected:
    void SetUp() override {
        id_ = test_id();
        area_ = target().prepare(id_);
    }

    // Keys below the test's area; `%` fields make one key per run second.
    std::string key_template(const std::string& name = "%Y%m%d-%H%M%S") const {
        return area_.key_prefix + "kit/" + name + ".bin";
    }
    std::string pipeline(const Generator& source, const std::string& key, const std::string& tables = "") {
        std::string text = "name = \"kit\"\nlock_dir = " + toml_quoted((work_.path() / "locks").string()) +
                           "\n\n[source]\nplugin = \"source-command\"\ncommand = " + toml_array(source.argv()) +
                           "\n\n[sink]\nplugin = " + toml_quoted(target().plugin()) + "\nkey = " + toml_quoted(key) +
                           "\n" + area_.options + "\n" + tables;
        const std::filesystem::path file = work_.path() / "pipeline.toml";
        write_file(file, text);
        return file.string();
    }
    CommandResult run(const std::vector<std::string>& args) { return backhaul(args, area_.environment); }

    std::vector<StoredObject> stored() {
        std::vector<StoredObject> objects = target().stored_objects(id_);
        std::sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
        return objects;
    }
    std::vector<std::string> stored_keys() {
        std::vector<std::string> keys;
        for (const StoredObject& o : stored()) keys.push_back(o.key);
        return keys;
    }
    // The complete backups `backhaul list --json` shows, newest first.
    std::vector<std::string> listed(const std::string& file) {
        CommandResult list = run({"list", file, "--json"});
        EXPECT_EQ(list.exit_code, 0) << list.err;
        std::vector<std::string> keys;
        for (const auto& entry : nlohmann::json::parse(list.out))
            if (entry.value("status", "") == "complete") keys.push_back(entry.at("key").get<std::string>());
        return keys;
    }
    // A run that must succeed; returns the key it stored.
    std::string backup(const std::string& file) {
        CommandResult result = run({"run", file});
        EXPECT_EQ(result.exit_code, 0) << result.err;
        std::vector<std::string> keys = listed(file);
        return keys.empty() ? "" : keys.front();
    }
    void expect_restores(const std::string& file, const std::string& key, const Generator& source) {
        CommandResult verify = run({"verify", file, "--key", key});
        EXPECT_EQ(verify.exit_code, 0) << verify.err;
        const std::filesystem::path restored = work_.path() / "restored.bin";
        CommandResult restore = run({"restore", file, "--key", key, "-o", restored.string()});
        ASSERT_EQ(restore.exit_code, 0) << restore.err;
        EXPECT_EQ(differs_from_generated(restored, source.seed, source.size), "") << "restored " << restored;
        std::filesystem::remove(restored);
    }
    // Waits until the clock shows a second later than now, so that the next run renders a new key.
    static void next_second() {
        const std::time_t now = std::time(nullptr);
        while (std::time(nullptr) == now) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }

    std::string id_;
    SinkArea area_;
    TempDir work_;
};

TEST_F(SinkContract, StoresExactlyTheStreamAndListVerifyAndRestoreReadIt) {
    const Generator source = Generator::stream((1 << 20) + 12345, 11);
    const std::string file = pipeline(source, key_template());
    const std::string key = backup(file);
    ASSERT_FALSE(key.empty());
    EXPECT_TRUE(key.starts_with(area_.key_prefix + "kit/")) << key;
    // The backup and its manifest, nothing else: no temporary is left next to them.
    EXPECT_EQ(stored_keys(), (std::vector<std::string>{key, key + ".manifest.json"})) << describe(stored());
    const std::string bytes = target().read_object(id_, key);
    EXPECT_EQ(bytes.size(), source.size);
    EXPECT_TRUE(bytes == generated(source.seed, source.size)) << "the stored object is not the stream";
    expect_restores(file, key, source);
}

TEST_F(SinkContract, LargeStreamIsStoredWholeAndRestores) {
    const Generator source = Generator::stream(target().large_stream_bytes() + 3, 12);
    const std::string file = pipeline(source, key_template());
    const std::string key = backup(file);
    ASSERT_FALSE(key.empty());
    const std::vector<StoredObject> objects = stored();
    ASSERT_EQ(objects.size(), 2u) << describe(objects);
    EXPECT_EQ(objects[0], (StoredObject{key, source.size}));
    expect_restores(file, key, source);
}

// A source that fails after `fail_after` bytes: before the first byte, within the first buffer, and past several
// parts of a multipart upload.
class SinkAbortContract : public SinkContract, public ::testing::WithParamInterface<uint64_t> {};

TEST_P(SinkAbortContract, FailedRunLeavesNothing) {
    const Generator source = Generator::stream(GetParam() + (1 << 20), 13).failing_after(GetParam());
    const std::string file = pipeline(source, key_template());
    CommandResult result = run({"run", file});
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_THAT(result.err, HasSubstr("source"));
    EXPECT_THAT(stored(), IsEmpty()) << describe(stored());
    EXPECT_THAT(listed(file), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(AtByte, SinkAbortContract, ::testing::Values(0, 65536 + 17, (uint64_t{25} << 20) + 5));

// SIGTERM while the upload is under way, at an exact byte of the stream: within the first buffer, or past several
// parts. The run must stop the source and leave nothing.
class SinkCancelContract : public SinkContract, public ::testing::WithParamInterface<uint64_t> {};

TEST_P(SinkCancelContract, CancelledRunLeavesNothingAndStopsTheSource) {
    Gate gate(work_.path() / "gate");
    const Generator source = Generator::stream(GetParam() + (4 << 20), 14).pausing_after(GetParam(), gate.dir());
    const std::string file = pipeline(source, key_template());
    CommandOptions options;
    options.env = backhaul_environment(area_.environment);
    RunningCommand running({backhaul_binary(), "run", file}, options);
    gate.wait_reached();
    ::kill(running.pid(), SIGTERM);
    CommandResult result = running.wait();
    EXPECT_NE(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.err, HasSubstr("nothing committed: interrupted by SIGTERM"));
    EXPECT_FALSE(process_alive(gate.generator_pid())) << "the source is still running after the run ended";
    EXPECT_THAT(stored(), IsEmpty()) << describe(stored());
}

INSTANTIATE_TEST_SUITE_P(AtByte, SinkCancelContract, ::testing::Values(65536, (uint64_t{20} << 20) + 7));

TEST_F(SinkContract, NeverReplacesAnObjectThatExistsWhenTheRunStarts) {
    const std::string key = key_template("fixed");
    const Generator first = Generator::stream(300000, 15);
    ASSERT_EQ(backup(pipeline(first, key)), key);
    const Generator second = Generator::stream(200000, 16);
    CommandResult again = run({"run", pipeline(second, key)});
    EXPECT_EQ(again.exit_code, 1) << again.err;
    EXPECT_THAT(again.err, HasSubstr("already exists"));
    EXPECT_TRUE(target().read_object(id_, key) == generated(first.seed, first.size)) << "the first backup changed";
    EXPECT_EQ(stored_keys(), (std::vector<std::string>{key, key + ".manifest.json"})) << describe(stored());
}

TEST_F(SinkContract, NeverReplacesAnObjectThatAppearsDuringTheUpload) {
    const std::string key = key_template("fixed");
    Gate gate(work_.path() / "gate");
    const Generator source = Generator::stream(3 << 20, 17).pausing_after(1 << 20, gate.dir());
    const std::string file = pipeline(source, key);
    CommandOptions options;
    options.env = backhaul_environment(area_.environment);
    RunningCommand running({backhaul_binary(), "run", file}, options);
    gate.wait_reached();
    const std::string other = "written by someone else while the upload ran\n";
    target().place_object(id_, key, other);
    gate.release();
    CommandResult result = running.wait();
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_THAT(result.err, HasSubstr("already exists"));
    EXPECT_EQ(target().read_object(id_, key), other);
    EXPECT_EQ(stored_keys(), std::vector<std::string>{key}) << describe(stored());
}

TEST_F(SinkContract, RetentionDeletesTheOldestOwnBackupAndNothingElse) {
    // Matches the key template but has no manifest: not provably this pipeline's, so never deleted.
    const std::string foreign = key_template("20000101-000000");
    target().place_object(id_, foreign, "not this pipeline's\n");
    std::vector<std::string> keys;
    for (uint64_t seed = 21; seed <= 23; ++seed) {
        if (!keys.empty()) next_second();
        const std::string file =
            pipeline(Generator::stream(1000 + seed, seed), key_template(), "[retention]\nkeep_last = 2\n");
        keys.push_back(backup(file));
        ASSERT_FALSE(keys.back().empty());
    }
    const std::vector<std::string> expected = {foreign, keys[1], keys[1] + ".manifest.json", keys[2],
                                               keys[2] + ".manifest.json"};
    EXPECT_EQ(stored_keys(), expected) << describe(stored());

    const std::string file = pipeline(Generator::stream(1, 1), key_template(), "[retention]\nkeep_last = 1\n");
    CommandResult dry = run({"prune", file, "--dry-run"});
    EXPECT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_EQ(stored_keys(), expected) << "prune --dry-run deleted something";
    CommandResult prune = run({"prune", file});
    EXPECT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_EQ(stored_keys(), (std::vector<std::string>{foreign, keys[2], keys[2] + ".manifest.json"}))
        << describe(stored());
    EXPECT_EQ(target().read_object(id_, foreign), "not this pipeline's\n");
}

TEST_F(SinkContract, VerifyNoticesAnObjectThatChangedAfterTheBackup) {
    const Generator source = Generator::stream(200000, 31);
    const std::string file = pipeline(source, key_template());
    const std::string key = backup(file);
    ASSERT_FALSE(key.empty());
    std::string damaged = generated(source.seed, source.size);
    damaged[damaged.size() / 2] ^= 0x01;
    target().place_object(id_, key, damaged);
    CommandResult verify = run({"verify", file, "--key", key});
    EXPECT_EQ(verify.exit_code, 1) << verify.err;
    EXPECT_THAT(verify.err, HasSubstr("SHA-256 mismatch"));
}

}  // namespace
}  // namespace backhaul::testkit
