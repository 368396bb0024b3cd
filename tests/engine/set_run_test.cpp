// A set's run end to end through the real `backhaul` binary (docs/sets.md), with the SDK fixture source `source-set`
// (tests/loader/fixtures/source_set.cpp), real gzip and sink-local: every stream committed as its own object below the
// set key and the manifest last; a failing stream leaves nothing at all; restore goes phase by phase, by selection,
// into the source or into a directory, and checks every object against the manifest first.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "command_runner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kGzip = "[[transform]]\nplugin = \"compress-gzip\"\n";
const std::string kSetKey = "settest/set-%Y%m%dT%H%M%S";

class SetRunTest : public ::testing::Test {
  protected:
    void SetUp() override { std::filesystem::create_directories(sink_dir()); }
    std::filesystem::path sink_dir() const { return tmp_ / "sink"; }
    std::filesystem::path restore_log() const { return tmp_ / "restored.log"; }

    // A pipeline of source-set with `streams` (TOML array text) and `extra` source options.
    std::filesystem::path pipeline(const std::string& streams, const std::string& extra = "",
                                   const std::string& transforms = kGzip,
                                   const std::string& sink = "plugin = \"sink-local\"\n",
                                   const std::string& key = kSetKey, int jobs = 2) {
        std::string text =
            "name = \"settest\"\njobs = " + std::to_string(jobs) +
            "\nplugin_path = [\"" ENGINE_FIXTURE_DIR "\"]\n\n[source]\nplugin = \"source-set\"\nstreams = " + streams +
            "\nrestore_log = \"" + restore_log().string() + "\"\n" + extra + "\n" + transforms + "\n[sink]\n" + sink +
            "path = \"" + sink_dir().string() + "\"\nkey = \"" + key + "\"\n";
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }

    CommandResult backhaul(std::vector<std::string> args) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        return run_command(args);
    }

    // The one set key in the sink: the manifest's name without its suffix.
    std::string set_key() const {
        for (const std::string& f : files_below(sink_dir()))
            if (f.size() > 14 && f.substr(f.size() - 14) == ".manifest.json") return f.substr(0, f.size() - 14);
        return "";
    }

    std::string gunzip(const std::string& key) {
        CommandResult r = run_command({"gunzip", "-c", (sink_dir() / key).string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    }

    TempDir tmp_;
};

TEST_F(SetRunTest, CommitsEveryStreamBelowTheSetKeyThenAManifestListingThem) {
    auto file = pipeline(R"(["databases/Café \"au\" lait", "globals", "databases/orders"])");
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::string key = set_key();
    ASSERT_THAT(key, ::testing::MatchesRegex("settest/set-20[0-9]{6}T[0-9]{6}"));
    // One object per stream, each name percent-encoded below the set key; no pending marker left.
    EXPECT_THAT(files_below(sink_dir()),
                ElementsAre(key + ".manifest.json", key + "/databases/Caf%C3%A9%20%22au%22%20lait.txt.gz",
                            key + "/databases/orders.txt.gz", key + "/globals.txt.gz"));
    // An independent decoder reads every object.
    EXPECT_EQ(gunzip(key + "/globals.txt.gz"), "globals\nglobals\nglobals\n");
    EXPECT_EQ(gunzip(key + "/databases/orders.txt.gz"), "databases/orders\ndatabases/orders\ndatabases/orders\n");

    nlohmann::json manifest = nlohmann::json::parse(read_file(sink_dir() / (key + ".manifest.json")));
    EXPECT_EQ(manifest["format"], "backhaul-manifest/2");
    EXPECT_EQ(manifest["key"], key);
    ASSERT_EQ(manifest["objects"].size(), 3u);
    uint64_t stored_total = 0;
    for (const auto& o : manifest["objects"]) {
        const std::string object_key = o["key"];
        // sha256sum, not our own code, checks each digest; the size is the file's.
        CommandResult sum = run_command({"sha256sum", (sink_dir() / object_key).string()});
        ASSERT_EQ(sum.exit_code, 0);
        EXPECT_EQ(sum.out.substr(0, 64), o["sha256"].get<std::string>()) << object_key;
        EXPECT_EQ(o["stored_bytes"].get<uint64_t>(), std::filesystem::file_size(sink_dir() / object_key));
        stored_total += o["stored_bytes"].get<uint64_t>();
    }
    EXPECT_EQ(manifest["stored_bytes"].get<uint64_t>(), stored_total);
    EXPECT_EQ(manifest["objects"][1]["stream"], "globals");
    EXPECT_EQ(manifest["objects"][1]["restore_phase"], 0);
    EXPECT_EQ(manifest["objects"][2]["variables"]["database"], "orders");
    EXPECT_EQ(manifest["objects"][2]["raw_bytes"], 3 * std::string("databases/orders\n").size());
}

TEST_F(SetRunTest, RestoresTheGlobalsPhaseFirstThenEveryDatabase) {
    auto file = pipeline(R"(["databases/a", "databases/b", "globals"])", "repeat = 1\n");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    CommandResult r = backhaul({"restore", file.string(), "--key", set_key(), "--tag", "!"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("streams=3"));
    const std::string log = read_file(restore_log());
    // Phase 0 finished before phase 1 began; the databases of phase 1 in either order (jobs = 2).
    EXPECT_EQ(log.rfind("[globals phase 0 index=2!]globals\n", 0), 0u) << log;
    EXPECT_THAT(log, HasSubstr("[databases/a phase 1 database=a index=0!]databases/a\n"));
    EXPECT_THAT(log, HasSubstr("[databases/b phase 1 database=b index=1!]databases/b\n"));
    EXPECT_EQ(log.size(), std::string("[globals phase 0 index=2!]globals\n"
                                      "[databases/a phase 1 database=a index=0!]databases/a\n"
                                      "[databases/b phase 1 database=b index=1!]databases/b\n")
                              .size());
}

// With jobs = 1 the order is visible: backups start the streams the source sizes largest first (a stream of unknown
// size before them), restores start each phase's objects largest first by their stored size; the manifest keeps the
// source's order either way.
TEST_F(SetRunTest, StreamsStartLargestFirst) {
    auto file = pipeline(R"(["databases/a", "databases/ccccccccccccccccccccccccccccccc", "databases/bbbbbbbbbbbbbbb"])",
                         "repeat = 200\nannounce_sizes = true\n", kGzip, "plugin = \"sink-local\"\n", kSetKey, 1);
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const size_t c = run.err.find("stream 'databases/ccccccccccccccccccccccccccccccc': ");
    const size_t b = run.err.find("stream 'databases/bbbbbbbbbbbbbbb': ");
    const size_t a = run.err.find("stream 'databases/a': ");
    ASSERT_NE(a, std::string::npos) << run.err;
    EXPECT_LT(c, b) << run.err;
    EXPECT_LT(b, a) << run.err;

    const std::string key = set_key();
    nlohmann::json manifest = nlohmann::json::parse(read_file(sink_dir() / (key + ".manifest.json")));
    ASSERT_EQ(manifest["objects"].size(), 3u);
    EXPECT_EQ(manifest["objects"][0]["stream"], "databases/a");
    // Largest stored object first in the restore; ties keep manifest order.
    std::vector<std::pair<uint64_t, std::string>> by_size;
    for (size_t i = 0; i < 3; ++i)
        by_size.emplace_back(manifest["objects"][i]["stored_bytes"].get<uint64_t>(),
                             manifest["objects"][i]["stream"].get<std::string>());
    std::stable_sort(by_size.begin(), by_size.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    CommandResult restore = backhaul({"restore", file.string(), "--key", key});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    const std::string log = read_file(restore_log());
    size_t last = 0;
    for (const auto& [size, stream] : by_size) {
        const size_t at = log.find("[" + stream + " phase 1");
        ASSERT_NE(at, std::string::npos) << log;
        EXPECT_GE(at, last) << stream << " of " << size << " bytes\n" << log;
        last = at;
    }
}

TEST_F(SetRunTest, RestoreSelectsDatabasesAndGlobalsAndRefusesNamesTheSetDoesNotHave) {
    auto file = pipeline(R"(["databases/a", "databases/b", "globals"])", "repeat = 1\n");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    ASSERT_EQ(backhaul({"restore", file.string(), "--latest", "--database", "b"}).exit_code, 0);
    EXPECT_EQ(read_file(restore_log()), "[databases/b phase 1 database=b index=1]databases/b\n");
    ASSERT_EQ(backhaul({"restore", file.string(), "--latest", "--globals"}).exit_code, 0);
    EXPECT_THAT(read_file(restore_log()), ::testing::EndsWith("[globals phase 0 index=2]globals\n"));

    CommandResult missing = backhaul({"restore", file.string(), "--latest", "--database", "b", "--database", "zz"});
    EXPECT_EQ(missing.exit_code, 2) << missing.err;
    EXPECT_THAT(missing.err, HasSubstr("has no 'zz' (its streams: databases/a, databases/b, globals)"));
    EXPECT_EQ(read_file(restore_log()).find("[databases/b", 60), std::string::npos);  // nothing restored by it
}

TEST_F(SetRunTest, RestoreToADirectoryWritesEachDecodedStreamAndNeverOverwrites) {
    auto file = pipeline(R"(["databases/x y", "globals"])", "repeat = 2\n");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    const std::filesystem::path out = tmp_ / "out";
    CommandResult r = backhaul({"restore", file.string(), "--latest", "--output", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(files_below(out), ElementsAre("databases/x%20y.txt", "globals.txt"));
    EXPECT_EQ(read_file(out / "databases/x%20y.txt"), "databases/x y\ndatabases/x y\n");
    CommandResult again = backhaul({"restore", file.string(), "--latest", "--output", out.string()});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_THAT(again.err, HasSubstr("already exists"));
    EXPECT_EQ(read_file(out / "globals.txt"), "globals\nglobals\n");
}

// One stream fails after others committed: the run removes what it committed and its marker, so nothing of the set
// remains under any name. jobs = 1 makes the order deterministic: a and b are committed before c fails.
TEST_F(SetRunTest, AFailingStreamLeavesNothingOfTheSetInTheSink) {
    for (int jobs : {1, 2}) {
        std::filesystem::remove_all(sink_dir());
        std::filesystem::create_directories(sink_dir());
        auto file = pipeline(R"(["databases/a", "databases/b", "databases/c"])", "fail_stream = \"databases/c\"\n",
                             kGzip, "plugin = \"sink-local\"\n", kSetKey, jobs);
        CommandResult run = backhaul({"run", file.string()});
        EXPECT_EQ(run.exit_code, 1) << run.err;
        EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: source (source-set): stream failed as told"))
            << run.err;
        if (jobs == 1) {
            EXPECT_THAT(run.err, HasSubstr("removed the 2 object(s) this run had committed"));
        }
        EXPECT_THAT(files_below(sink_dir()), IsEmpty()) << "jobs = " << jobs;
    }
}

TEST_F(SetRunTest, ASinkThatFailsAWriteLeavesNothingAndAbortsTheUpload) {
    // No transform: each object is 2000 lines, beyond the sink's 1000 bytes; the pending marker is smaller.
    auto file = pipeline(R"(["databases/a", "databases/b"])", "repeat = 2000\n", "",
                         "plugin = \"sink-faulty\"\nfail_at = \"write\"\nafter = 1000\n", kSetKey, 1);
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("sink (sink-faulty): injected write failure"));
    EXPECT_THAT(files_below(sink_dir()), ElementsAre("ABORTED"));
}

// SIGTERM at a deterministic point: the sink sends it to the process from inside each data object's commit.
// After the first of two objects, the stop is seen through the commit and then ends the run: the object is removed
// again, so nothing of the set remains.
TEST_F(SetRunTest, ASigtermAfterOneOfTwoCommitsLeavesNothing) {
    auto file = pipeline(R"(["databases/a", "databases/b"])", "", kGzip,
                         "plugin = \"sink-faulty\"\nfail_at = \"sigterm_in_commit\"\n", kSetKey, 1);
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: interrupted by SIGTERM")) << run.err;
    EXPECT_THAT(run.err, HasSubstr("removed the 1 object(s) this run had committed"));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

// Every object committed, then the manifest cannot be written: the set is not complete, so its objects go again.
TEST_F(SetRunTest, AManifestThatCannotBeWrittenTakesTheSetsObjectsAway) {
    auto file = pipeline(R"(["databases/a", "globals"])", "", kGzip,
                         "plugin = \"sink-faulty\"\nfail_at = \"manifest\"\n", kSetKey, 2);
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: the set's manifest could not be written, so the "
                                   "set is not complete: sink (sink-faulty): injected manifest failure"))
        << run.err;
    EXPECT_THAT(run.err, HasSubstr("removed the 2 object(s) this run had committed"));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

// The set's last commit holds the stop back until the manifest is written, as a one-stream run does: the set is
// complete, and the run says it was stopped afterwards.
TEST_F(SetRunTest, ASigtermInTheLastCommitIsHeldBackUntilTheManifestIsWritten) {
    auto file = pipeline(R"(["databases/a"])", "", kGzip, "plugin = \"sink-faulty\"\nfail_at = \"sigterm_in_commit\"\n",
                         kSetKey, 1);
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("is complete, but the run was then stopped (interrupted by SIGTERM)")) << run.err;
    const std::string key = set_key();
    ASSERT_FALSE(key.empty());
    EXPECT_THAT(files_below(sink_dir()), ElementsAre(key + ".manifest.json", key + "/databases/a.txt.gz"));
}

TEST_F(SetRunTest, ASecondRunUnderTheSameSetKeyIsRefusedAndTheFirstStaysIntact) {
    auto file = pipeline(R"(["globals"])", "", kGzip, "plugin = \"sink-local\"\n", "settest/fixed");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    const auto before = files_below(sink_dir());
    CommandResult again = backhaul({"run", file.string()});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_THAT(again.err, HasSubstr("already exists; a run never replaces an object"));
    EXPECT_EQ(files_below(sink_dir()), before);
}

TEST_F(SetRunTest, ValidateRefusesASetKeyWithAStreamVariable) {
    for (const std::string key : {"settest/{index}", "settest/%Y{ext}"}) {
        auto file = pipeline(R"(["globals"])", "", kGzip, "plugin = \"sink-local\"\n", key);
        CommandResult r = backhaul({"validate", file.string()});
        EXPECT_EQ(r.exit_code, 2) << key;
        EXPECT_THAT(r.err, HasSubstr("but the source backs up a set of streams, whose key names the whole set"))
            << r.err;
    }
    auto good = pipeline(R"(["globals"])");
    CommandResult valid = backhaul({"validate", good.string()});
    EXPECT_EQ(valid.exit_code, 0) << valid.err;
    EXPECT_THAT(valid.out, HasSubstr("source source-set (a set, 2 stream(s) at once)"));
}

// The restore of one stream fails: the restore fails (exit 1) and says which streams were restored.
TEST_F(SetRunTest, AFailedStreamRestoreFailsTheRestoreAndNamesWhatWasRestored) {
    auto file = pipeline(R"(["databases/a", "globals"])", "repeat = 1\nfail_restore_stream = \"databases/a\"\n");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    CommandResult r = backhaul({"restore", file.string(), "--latest"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("restore failed as told"));
    EXPECT_THAT(r.err, HasSubstr("(stream 'databases/a'); restored: 'globals' of 2 stream(s)"));
}

// A stored object that no longer matches the manifest is never handed to the target as a complete restore.
TEST_F(SetRunTest, AnObjectThatDoesNotMatchTheManifestIsNotRestored) {
    auto file = pipeline(R"(["databases/a"])", "repeat = 1\n", "");  // no transforms: the object is the raw stream
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    const std::filesystem::path object = sink_dir() / (set_key() + "/databases/a.txt");
    std::filesystem::permissions(object, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
    write_file(object, "databases/A\n");  // same size, other bytes
    CommandResult r = backhaul({"restore", file.string(), "--latest"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("does not match the set's manifest"));
    EXPECT_FALSE(std::filesystem::exists(restore_log()));
}

}  // namespace
}  // namespace backhaul::testing
