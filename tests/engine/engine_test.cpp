// The engine end to end, through the real `backhaul` binary: a good pipeline commits and restores byte-exact; a
// failure injected at every stage exits 1 with the first error and leaves nothing in the sink (SIGTERM at an exact
// byte is the sink contract's, sdk/testkit, run by every sink).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "command_runner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string sample_data(size_t size) {
    std::mt19937_64 rng(42);
    std::string data;
    data.reserve(size);
    // Half text (compressible), half random (not): the gzip stream has both kinds of blocks.
    while (data.size() < size / 2) data += "row " + std::to_string(data.size()) + " 한국어 text\n";
    while (data.size() < size) data.push_back(static_cast<char>(rng()));
    return data;
}

class EngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(sink_dir());
        input_ = sample_data(3 << 20);
        write_file(tmp_ / "input.bin", input_);
    }

    std::filesystem::path sink_dir() const { return tmp_ / "sink"; }

    // A pipeline: cat the input -> [extra transforms] -> `sink` table.
    std::filesystem::path pipeline(const std::string& source, const std::string& transforms, const std::string& sink) {
        std::string text = "name = \"enginetest\"\nplugin_path = [\"" ENGINE_FIXTURE_DIR "\"]\n\n[source]\n" + source +
                           "\n" + transforms + "\n[sink]\n" + sink + "\n";
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }
    std::string cat_source() const {
        return "plugin = \"source-command\"\ncommand = [\"cat\", \"" + (tmp_ / "input.bin").string() + "\"]\n";
    }
    std::string local_sink(const std::string& key = "{pipeline}/%Y/backup{ext}") const {
        return "plugin = \"sink-local\"\npath = \"" + sink_dir().string() + "\"\nkey = \"" + key + "\"\n";
    }

    CommandResult backhaul(std::vector<std::string> args, const CommandOptions& options = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        return run_command(args, options);
    }

    TempDir tmp_;
    std::string input_;
};

TEST_F(EngineTest, CommitsGzipThatGunzipRestoresAndRestoresByteExact) {
    auto file = pipeline(cat_source(), "[[transform]]\nplugin = \"compress-gzip\"\nlevel = 6\n", local_sink());
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup committed"));

    // The data object and, written after it committed, its manifest.
    auto files = files_below(sink_dir());
    ASSERT_EQ(files.size(), 2u) << ::testing::PrintToString(files);
    const std::string& key = files[0];
    EXPECT_THAT(key, ::testing::MatchesRegex("enginetest/20[0-9][0-9]/backup\\.gz"));
    EXPECT_EQ(files[1], key + ".manifest.json");

    // An independent decoder reads what we wrote.
    CommandResult gunzip = run_command({"gunzip", "-c", (sink_dir() / key).string()});
    ASSERT_EQ(gunzip.exit_code, 0) << gunzip.err;
    EXPECT_TRUE(gunzip.out == input_) << "gunzip output differs from the input";

    // Restore to a file.
    CommandResult restore = backhaul({"restore", file.string(), "--key", key, "--output", (tmp_ / "out.bin").string()});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_TRUE(read_file(tmp_ / "out.bin") == input_);

    // Restore to stdout.
    CommandResult to_stdout = backhaul({"restore", file.string(), "--key", key, "--output", "-"});
    ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
    EXPECT_TRUE(to_stdout.out == input_);
}

TEST_F(EngineTest, RestoresThroughTheSourceRestoreCommand) {
    std::string source =
        cat_source() + "restore_command = [\"sh\", \"-c\", \"cat > " + (tmp_ / "restored.bin").string() + "\"]\n";
    auto file = pipeline(source, "[[transform]]\nplugin = \"compress-gzip\"\n", local_sink("fixed{ext}"));
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    CommandResult restore = backhaul({"restore", file.string(), "--key", "fixed.gz"});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_TRUE(read_file(tmp_ / "restored.bin") == input_);
}

TEST_F(EngineTest, RestoreOfMissingKeyFailsWithExit1AndWritesNoOutput) {
    auto file = pipeline(cat_source(), "", local_sink("fixed"));
    CommandResult restore = backhaul({"restore", file.string(), "--key", "nope", "--output", (tmp_ / "o").string()});
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_THAT(restore.err, HasSubstr("sink (sink-local)"));
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "o"));
    EXPECT_THAT(files_below(tmp_.path()), Not(::testing::Contains(::testing::HasSubstr("backhaul-tmp"))));
}

TEST_F(EngineTest, CorruptObjectFailsRestoreAndLeavesNoOutputFile) {
    auto file = pipeline(cat_source(), "[[transform]]\nplugin = \"compress-gzip\"\n", local_sink("fixed{ext}"));
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    std::string gz = read_file(sink_dir() / "fixed.gz");
    std::filesystem::permissions(sink_dir() / "fixed.gz", std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    write_file(sink_dir() / "fixed.gz", gz.substr(0, gz.size() / 2));  // truncated
    CommandResult restore =
        backhaul({"restore", file.string(), "--key", "fixed.gz", "--output", (tmp_ / "o").string()});
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_THAT(restore.err, HasSubstr("transform[0] (compress-gzip)"));
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "o"));
}

// ---- Failure at each stage: exit 1, the first error, nothing in the sink -------------------------------------------

struct FailureCase {
    std::string name;
    std::string source;      // "" = cat the input
    std::string transforms;  // TOML
    std::string sink;        // "" = sink-local
    std::string expected_error;

    friend void PrintTo(const FailureCase& c, std::ostream* os) { *os << c.name; }
};

class StageFailure : public EngineTest, public ::testing::WithParamInterface<FailureCase> {};

TEST_P(StageFailure, ExitsOneWithTheFirstErrorAndCommitsNothing) {
    const FailureCase& c = GetParam();
    std::string sink = c.sink.empty() ? local_sink() : c.sink + "path = \"" + sink_dir().string() + "\"\nkey = \"k\"\n";
    auto file = pipeline(c.source.empty() ? cat_source() : c.source, c.transforms, sink);
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: " + c.expected_error)) << run.err;
    // Nothing under the final key, no temp or partial file; a faulty sink records that abort ran.
    auto files = files_below(sink_dir());
    if (!c.sink.empty() && c.expected_error.find("begin") == std::string::npos &&
        c.expected_error.find("create") == std::string::npos) {
        EXPECT_THAT(files, ::testing::ElementsAre("ABORTED"));
    } else {
        EXPECT_THAT(files, IsEmpty());
    }
}

const std::string gzip = "[[transform]]\nplugin = \"compress-gzip\"\n";
std::string faulty(const std::string& at, const std::string& after = "0") {
    return "[[transform]]\nplugin = \"transform-faulty\"\nfail_at = \"" + at + "\"\nafter = " + after + "\n";
}

INSTANTIATE_TEST_SUITE_P(
    Engine, StageFailure,
    ::testing::Values(
        FailureCase{
            "SourceExitsNonZero",
            "plugin = \"source-command\"\ncommand = [\"sh\", \"-c\", \"head -c 2000000 /dev/zero; echo boom >&2; "
            "exit 3\"]\n",
            gzip, "", "source (source-command): command 'sh' exited with status 3: boom"},
        FailureCase{
            "SourceKilledBySignal",
            "plugin = \"source-command\"\ncommand = [\"sh\", \"-c\", \"head -c 2000000 /dev/zero; kill -9 $$\"]\n",
            gzip, "", "source (source-command): command 'sh' was killed by signal 9"},
        FailureCase{"SourceCannotStart", "plugin = \"source-command\"\ncommand = [\"/nonexistent/pg_dump\"]\n", gzip,
                    "", "source (source-command): cannot start command '/nonexistent/pg_dump'"},
        FailureCase{"TransformCreateThrows", "", faulty("create"), "",
                    "transform[0] (transform-faulty): injected create failure"},
        FailureCase{"TransformOpenFails", "", gzip + faulty("open"), "",
                    "transform[1] (transform-faulty): injected open failure"},
        FailureCase{"TransformWriteFailsMidStream", "", faulty("write", "\"1MiB\"") + gzip, "",
                    "transform[0] (transform-faulty): injected write failure after 1048576 bytes"},
        FailureCase{"TransformFinishFails", "", gzip + faulty("finish"), "",
                    "transform[1] (transform-faulty): injected finish failure"},
        FailureCase{"SinkBeginFails", "", gzip, "plugin = \"sink-faulty\"\nfail_at = \"begin\"\n",
                    "sink (sink-faulty): injected begin failure"},
        FailureCase{"SinkWriteFails", "", gzip, "plugin = \"sink-faulty\"\nfail_at = \"write\"\nafter = 1000\n",
                    "sink (sink-faulty): injected write failure"},
        FailureCase{"SinkCommitFails", "", gzip, "plugin = \"sink-faulty\"\nfail_at = \"commit\"\n",
                    "sink (sink-faulty): injected commit failure"}),
    [](const ::testing::TestParamInfo<FailureCase>& info) { return info.param.name; });

TEST_F(EngineTest, KeygenAgeWritesAPrivateIdentityThatTheAgeCliAccepts) {
    std::filesystem::path key = tmp_ / "identity.txt";
    CommandResult r = backhaul({"keygen", "age", "--output", key.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(std::filesystem::status(key).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    ASSERT_THAT(r.err, ::testing::ContainsRegex("Public key: age1[0-9a-z]+"));
    std::string recipient = r.err.substr(r.err.find("age1"));
    recipient = recipient.substr(0, recipient.find('\n'));
    // The real age CLI encrypts to the printed recipient and decrypts with the written identity.
    write_file(tmp_ / "plain.txt", input_.substr(0, 1000));
    ASSERT_EQ(
        run_command({"age", "-r", recipient, "-o", (tmp_ / "c.age").string(), (tmp_ / "plain.txt").string()}).exit_code,
        0);
    CommandResult d = run_command({"age", "-d", "-i", key.string(), (tmp_ / "c.age").string()});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_TRUE(d.out == input_.substr(0, 1000));
    // An existing identity is never overwritten.
    std::string before = read_file(key);
    EXPECT_EQ(backhaul({"keygen", "age", "--output", key.string()}).exit_code, 1);
    EXPECT_EQ(read_file(key), before);
}

TEST_F(EngineTest, KeygenWithoutTheEncryptAgeHelperSaysWhatIsMissing) {
    // A backhaul whose libexec/backhaul/ holds no helper: the core itself cannot make age keys (it links no plugin
    // code).
    const std::filesystem::path bin = tmp_ / "bin";
    std::filesystem::create_directories(bin);
    std::filesystem::copy_file(BACKHAUL_BINARY, bin / "backhaul");
    CommandResult r = run_command({(bin / "backhaul").string(), "keygen", "age", "--output", (tmp_ / "k").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("backhaul-age-keygen"));
    EXPECT_THAT(r.err, HasSubstr("age-keygen makes the same keys"));
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "k"));
}

// ---- Configuration and plugin errors --------------------------------------------------------------------------------

TEST_F(EngineTest, InvalidPipelineExitsTwoWithFileLineColumn) {
    auto file = pipeline(cat_source() + "colour = \"red\"\n", "", local_sink());
    for (const char* command : {"validate", "run"}) {
        CommandResult r = backhaul({command, file.string()});
        EXPECT_EQ(r.exit_code, 2) << command;
        EXPECT_THAT(r.err, HasSubstr(file.string() + ":7:1: source (source-command): unknown option 'colour'"))
            << r.err;
    }
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

TEST_F(EngineTest, ValidateAcceptsAGoodPipelineWithoutRunningIt) {
    auto file = pipeline("plugin = \"source-command\"\ncommand = [\"touch\", \"" + (tmp_ / "ran").string() + "\"]\n",
                         gzip, local_sink());
    CommandResult r = backhaul({"validate", file.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("is valid"));
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "ran"));
}

TEST_F(EngineTest, UnloadablePluginExitsThreeNamingTheFile) {
    std::filesystem::create_directories(tmp_ / "bad");
    write_file(tmp_ / "bad" / "broken.so", "this is not an ELF file");
    CommandOptions options;
    options.env["BACKHAUL_PLUGIN_PATH"] = (tmp_ / "bad").string();
    CommandResult r = backhaul({"plugins"}, options);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr((tmp_ / "bad" / "broken.so").string() + ": cannot load: "));
}

TEST_F(EngineTest, PluginsListsTheFirstPartyPluginsWithOptions) {
    CommandResult r = backhaul({"plugins"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("compress-gzip"));
    EXPECT_THAT(r.out, HasSubstr("sink-local"));
    EXPECT_THAT(r.out, HasSubstr("source-command"));
    CommandResult d = backhaul({"plugins", "describe", "compress-gzip"});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_THAT(d.out, HasSubstr("level"));
    CommandResult j = backhaul({"plugins", "describe", "sink-local", "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    EXPECT_THAT(j.out, HasSubstr("\"name\": \"path\""));
    EXPECT_THAT(j.out, HasSubstr("\"required\": true"));
}

TEST_F(EngineTest, UsageErrorsExitTwo) {
    EXPECT_EQ(backhaul({}).exit_code, 2);
    EXPECT_EQ(backhaul({"frobnicate"}).exit_code, 2);
    EXPECT_EQ(backhaul({"restore", "p.toml"}).exit_code, 2);  // no --key
    EXPECT_EQ(backhaul({"--help"}).exit_code, 0);
    CommandResult v = backhaul({"--version"});
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_THAT(v.out, HasSubstr("backhaul "));
}

}  // namespace
}  // namespace backhaul::testing
