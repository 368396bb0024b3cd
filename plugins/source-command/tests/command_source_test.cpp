#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <backhaul/support/process/child_process.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "command_runner.hpp"
#include "plugin_harness.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;
using harness::Instance;
using harness::OptionList;
using harness::Plugin;
using harness::StreamResult;
using testing::read_file;
using Argv = std::vector<std::string>;

const Plugin& command_plugin() {
    static const Plugin plugin("source-command");
    return plugin;
}

// True when this process has no child left, reaped or not: waitpid would reap a zombie the plugin forgot and fail.
bool no_children_left() {
    int status = 0;
    return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

class SourceCommand : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "backhaul-command-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(SourceCommand, DescriptorDeclaresOptions) {
    const bh_plugin_descriptor& d = command_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_SOURCE);
    EXPECT_STREQ(d.name, "source-command");
    ASSERT_EQ(d.option_count, 4u);
    EXPECT_STREQ(d.options[0].name, "command");
    EXPECT_EQ(d.options[0].type, BH_OPT_LIST);
    EXPECT_EQ(d.options[0].flags, uint32_t{BH_OPT_REQUIRED | BH_OPT_ARGV});
    EXPECT_STREQ(d.options[1].name, "restore_command");
    EXPECT_EQ(d.options[1].flags, uint32_t{BH_OPT_ARGV});
    EXPECT_STREQ(d.options[2].name, "env");
    EXPECT_EQ(d.options[2].type, BH_OPT_TABLE);
    EXPECT_EQ(d.options[2].flags, 0u);  // where secrets go instead
    EXPECT_STREQ(d.options[3].name, "working_dir");
    EXPECT_EQ(d.restore_option_count, 0u);
    EXPECT_EQ(d.variables, nullptr);
}

TEST_F(SourceCommand, StreamsStandardOutputExactly) {
    Instance source(command_plugin(), {{"command", Argv{"seq", "1", "100000"}}});
    ASSERT_EQ(source.create_status(), BH_OK) << source.last_error();
    StreamResult result = source.read_source();
    ASSERT_EQ(result.status, BH_END_OF_STREAM) << result.error;
    std::string expected;
    for (int i = 1; i <= 100000; ++i) expected += std::to_string(i) + "\n";
    EXPECT_TRUE(result.data == expected) << "got " << result.data.size() << " bytes";
    EXPECT_TRUE(source.host().variables().empty());
    EXPECT_TRUE(no_children_left());
}

// An empty `command` is refused by the host (a limit): command_validate_completeness_test.cpp. An empty program name
// is the plugin's own check.
TEST_F(SourceCommand, EmptyProgramIsInvalidConfig) {
    Instance source(command_plugin(), {{"command", Argv{"", "-c"}}});
    EXPECT_EQ(source.create_status(), BH_INVALID_CONFIG);
    EXPECT_EQ(source.last_error(), "option 'command': the program (first entry) is empty");
}

TEST_F(SourceCommand, NonZeroExitFailsWithStderrTail) {
    Instance source(command_plugin(), {{"command", Argv{"sh", "-c",
                                                        "echo partial; echo 'first problem' >&2; echo >&2; "
                                                        "echo 'pg_dump: error: connection refused' >&2; exit 3"}}});
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.data, "partial\n");
    EXPECT_EQ(result.error, "command 'sh' exited with status 3: first problem | pg_dump: error: connection refused");
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourceCommand, NonZeroExitWithoutStderr) {
    Instance source(command_plugin(), {{"command", Argv{"false"}}});
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error, "command 'false' exited with status 1");
}

TEST_F(SourceCommand, StderrTailKeepsTheLastTwentyLines) {
    Instance source(command_plugin(),
                    {{"command", Argv{"sh", "-c", "for i in $(seq 1 50); do echo line$i >&2; done; exit 2"}}});
    StreamResult result = source.read_source();
    std::string expected = "command 'sh' exited with status 2: line31";
    for (int i = 32; i <= 50; ++i) expected += " | line" + std::to_string(i);
    EXPECT_EQ(result.error, expected);
}

TEST_F(SourceCommand, StderrLinesAreLogged) {
    Instance source(command_plugin(), {{"command", Argv{"sh", "-c", "echo warning one >&2; echo data"}}});
    StreamResult result = source.read_source();
    ASSERT_EQ(result.status, BH_END_OF_STREAM) << result.error;
    EXPECT_EQ(result.data, "data\n");
    std::vector<harness::LogLine> log = source.host().log();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].level, BH_LOG_INFO);
    EXPECT_EQ(log[0].message, "sh: warning one");
}

TEST_F(SourceCommand, KilledBySignalFails) {
    Instance source(command_plugin(), {{"command", Argv{"sh", "-c", "echo about to die >&2; kill -9 $$"}}});
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error, "command 'sh' was killed by signal 9 (SIGKILL): about to die");
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourceCommand, MissingProgramCannotStart) {
    Instance source(command_plugin(), {{"command", Argv{"backhaul-no-such-program", "--flag"}}});
    ASSERT_EQ(source.create_status(), BH_OK);  // create does no process I/O
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error, "cannot start command 'backhaul-no-such-program': No such file or directory");
}

TEST_F(SourceCommand, MissingWorkingDirectoryCannotStart) {
    Instance source(command_plugin(), {{"command", Argv{"pwd"}}, {"working_dir", (dir_ / "missing").string()}});
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error, "cannot start command 'pwd': No such file or directory");
}

TEST_F(SourceCommand, RunsInWorkingDirectory) {
    Instance source(command_plugin(), {{"command", Argv{"pwd"}}, {"working_dir", dir_.string()}});
    StreamResult result = source.read_source();
    ASSERT_EQ(result.status, BH_END_OF_STREAM) << result.error;
    EXPECT_EQ(result.data, fs::canonical(dir_).string() + "\n");
}

TEST_F(SourceCommand, EnvReachesTheChildButOnlyAllowlistedVariablesOfOurs) {
    ::setenv("BACKHAUL_TEST_INHERITED", "from parent", 1);
    ::setenv("BACKHAUL_TEST_REPLACED", "old", 1);
    ::setenv("LC_TIME", "C.UTF-8", 1);
    ::setenv("TZ", "Asia/Seoul", 1);
    Instance source(command_plugin(),
                    {{"command", Argv{"sh", "-c",
                                      "echo \"$BACKHAUL_TEST_ADDED|$BACKHAUL_TEST_REPLACED|"
                                      "${BACKHAUL_TEST_INHERITED-unset}|$LC_TIME|$TZ\""}},
                     {"env", harness::Table{{"BACKHAUL_TEST_ADDED", "a b"}, {"BACKHAUL_TEST_REPLACED", "new"}}}});
    StreamResult result = source.read_source();
    for (const char* name : {"BACKHAUL_TEST_INHERITED", "BACKHAUL_TEST_REPLACED", "LC_TIME", "TZ"}) ::unsetenv(name);
    ASSERT_EQ(result.status, BH_END_OF_STREAM) << result.error;
    EXPECT_EQ(result.data, "a b|new|unset|C.UTF-8|Asia/Seoul\n");
}

// The whole path through the real binary: the backup is the child's environment, restored with --output.
TEST_F(SourceCommand, BackhaulRunGivesTheCommandAMinimalEnvironment) {
    fs::path sink = dir_ / "sink";
    fs::create_directories(sink);
    testing::write_file(dir_ / "pipeline.toml",
                        "name = \"envtest\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"env\"]\n"
                        "env = { BACKHAUL_TEST_EXPLICIT = \"set by the pipeline\" }\n\n"
                        "[sink]\nplugin = \"sink-local\"\npath = \"" +
                            sink.string() + "\"\nkey = \"env.txt\"\n");
    testing::CommandOptions options;
    options.env = {{"SECRET_KEY", "ncloud-Secret-Key-0xdeadbeef"},
                   {"AWS_SECRET_ACCESS_KEY", "aws-Secret-0xfeedface"},
                   {"BACKHAUL_TEST_PG_PASSWORD", "pg-Pa55word-0xc0ffee"},
                   {"HOME", dir_.string()},
                   {"LANG", "C.UTF-8"},
                   {"LC_ALL", "C.UTF-8"},
                   {"TZ", "Europe/Berlin"},
                   {"TMPDIR", dir_.string()}};
    testing::CommandResult run =
        testing::run_command({BACKHAUL_BINARY, "run", (dir_ / "pipeline.toml").string()}, options);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    testing::CommandResult restore =
        testing::run_command({BACKHAUL_BINARY, "restore", (dir_ / "pipeline.toml").string(), "--key", "env.txt",
                              "--output", (dir_ / "env.out").string()});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;

    std::map<std::string, std::string> env;
    std::istringstream lines(read_file(dir_ / "env.out"));
    for (std::string line; std::getline(lines, line);)
        if (size_t eq = line.find('='); eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
    EXPECT_EQ(env["BACKHAUL_TEST_EXPLICIT"], "set by the pipeline");
    EXPECT_EQ(env["HOME"], dir_.string());
    EXPECT_EQ(env["LANG"], "C.UTF-8");
    EXPECT_EQ(env["LC_ALL"], "C.UTF-8");
    EXPECT_EQ(env["TZ"], "Europe/Berlin");
    EXPECT_EQ(env["TMPDIR"], dir_.string());
    EXPECT_EQ(env["PATH"], ::getenv("PATH"));
    std::set<std::string> names;
    for (const auto& [name, value] : env) names.insert(name);
    for (const char* leaked : {"SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "BACKHAUL_TEST_PG_PASSWORD"})
        EXPECT_EQ(names.count(leaked), 0u) << leaked << " reached the command";
    for (const std::string& name : names)
        EXPECT_TRUE(is_inherited_variable(name) || name == "BACKHAUL_TEST_EXPLICIT" || name == "PWD" ||
                    name == "SHLVL" || name == "_")
            << name << " reached the command";
}

// Core dumps are off in backhaul (it holds secrets): the command looks at its parent from outside.
TEST_F(SourceCommand, BackhaulRunsWithCoreDumpsOff) {
    fs::path sink = dir_ / "sink";
    fs::create_directories(sink);
    // A process may read the environment of another one of its user only while that one is dumpable (the ptrace
    // access rules); as root, without capabilities (setpriv), or capabilities would let it read anything.
    const std::string probe =
        "cat /proc/$PPID/comm > \"$OUT/comm\"; grep 'Max core file size' /proc/$PPID/limits > \"$OUT/limits\"; "
        "if cat /proc/$PPID/environ > /dev/null 2>&1; then echo dumpable; else echo not-dumpable; fi "
        "> \"$OUT/dumpable\"; echo done";
    testing::write_file(dir_ / "pipeline.toml",
                        "name = \"coretest\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"sh\", \"-c\", " +
                            nlohmann::json(probe).dump() + "]\nenv = { OUT = \"" + dir_.string() +
                            "\" }\n\n[sink]\nplugin = \"sink-local\"\npath = \"" + sink.string() +
                            "\"\nkey = \"probe.txt\"\n");
    Argv argv{BACKHAUL_BINARY, "run", (dir_ / "pipeline.toml").string()};
    if (::geteuid() == 0) argv.insert(argv.begin(), {"setpriv", "--bounding-set=-all", "--inh-caps=-all"});
    testing::CommandResult run = testing::run_command(argv);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(read_file(dir_ / "comm"), "backhaul\n");
    std::istringstream limits(read_file(dir_ / "limits"));
    std::string max, core, file, size, soft, hard;
    limits >> max >> core >> file >> size >> soft >> hard;
    EXPECT_EQ(soft + " " + hard, "0 0") << read_file(dir_ / "limits");
    EXPECT_EQ(read_file(dir_ / "dumpable"), "not-dumpable\n");
}

TEST_F(SourceCommand, ChildSignalsAreResetEvenIfTheHostBlocksThem) {
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &previous), 0);
    Instance source(command_plugin(), {{"command", Argv{"sh", "-c", "grep -E '^SigBlk' /proc/self/status"}}});
    StreamResult result = source.read_source();
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    ASSERT_EQ(result.status, BH_END_OF_STREAM) << result.error;
    EXPECT_EQ(result.data, "SigBlk:\t0000000000000000\n");
}

TEST_F(SourceCommand, CancelStopsReadingPromptlyAndReapsTheChild) {
    Instance source(command_plugin(), {{"command", Argv{"sleep", "30"}}});
    harness::SourceStream stream(source);
    ASSERT_EQ(stream.open_status(), BH_OK);
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        source.host().cancel();
    });
    auto start = std::chrono::steady_clock::now();
    std::string data;
    bh_status status = stream.read(data);
    auto waited = std::chrono::steady_clock::now() - start;
    canceller.join();
    EXPECT_EQ(status, BH_CANCELLED);
    EXPECT_EQ(source.last_error(), "cancelled");
    EXPECT_LT(waited, std::chrono::milliseconds(800));
    EXPECT_FALSE(no_children_left());  // still running until the stream is released
    stream.close();
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourceCommand, CancelWhileTheCommandFloodsOutput) {
    Instance source(command_plugin(), {{"command", Argv{"yes"}}});
    harness::SourceStream stream(source);
    ASSERT_EQ(stream.open_status(), BH_OK);
    std::string data;
    ASSERT_EQ(stream.read(data), BH_OK);
    EXPECT_TRUE(data.starts_with("y\ny\n"));
    source.host().cancel();
    EXPECT_EQ(stream.read(data), BH_CANCELLED);
    stream.close();
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourceCommand, ClosingBeforeEndKillsAChildThatIgnoresSigterm) {
    Instance source(command_plugin(), {{"command", Argv{"sh", "-c", "trap '' TERM; echo ready; while :; do :; done"}}});
    harness::SourceStream stream(source);
    ASSERT_EQ(stream.open_status(), BH_OK);
    std::string data;
    ASSERT_EQ(stream.read(data), BH_OK);
    EXPECT_EQ(data, "ready\n");
    auto start = std::chrono::steady_clock::now();
    stream.close();
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(no_children_left());
    EXPECT_GE(waited, std::chrono::milliseconds(1900));  // SIGTERM was ignored: SIGKILL after the 2 s grace
    EXPECT_LT(waited, std::chrono::seconds(4));
}

TEST_F(SourceCommand, RestorePipesIntoTheRestoreCommand) {
    fs::path target = dir_ / "restored";
    Instance source(command_plugin(), {{"command", Argv{"true"}},
                                       {"restore_command", Argv{"sh", "-c", "cat > \"$0\"", target.string()}}});
    std::string data;
    for (int i = 0; i < 200000; ++i) data += std::to_string(i * 7919) + ",";
    StreamResult result = source.restore(data);
    ASSERT_EQ(result.status, BH_OK) << result.error;
    EXPECT_TRUE(read_file(target) == data);
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourceCommand, RestoreWithoutRestoreCommandFails) {
    Instance source(command_plugin(), {{"command", Argv{"true"}}});
    StreamResult result = source.restore("data");
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error, "source-command: option 'restore_command' is not set; use --output to restore to a file");
}

TEST_F(SourceCommand, RestoreCommandFailingAtTheEndFails) {
    Instance source(command_plugin(),
                    {{"command", Argv{"true"}},
                     {"restore_command", Argv{"sh", "-c", "cat > /dev/null; echo 'psql: bad input' >&2; exit 4"}}});
    StreamResult result = source.restore("data");
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error, "command 'sh' exited with status 4: psql: bad input");
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourceCommand, RestoreCommandThatStopsReadingFailsTheWrite) {
    Instance source(command_plugin(),
                    {{"command", Argv{"true"}}, {"restore_command", Argv{"sh", "-c", "echo 'refused' >&2; exit 5"}}});
    harness::RestoreTarget target(source, {});
    ASSERT_EQ(target.open_status(), BH_OK);
    std::string chunk(1 << 20, 'x');
    bh_status status = BH_OK;
    for (int i = 0; i < 64 && status == BH_OK; ++i) status = target.write(chunk);  // far more than a pipe buffer
    EXPECT_EQ(status, BH_FATAL);
    EXPECT_EQ(source.last_error(), "command 'sh' exited with status 5: refused");
}

TEST_F(SourceCommand, AbortedRestoreKillsTheCommandBeforeItSeesEndOfInput) {
    fs::path marker = dir_ / "completed";
    Instance source(command_plugin(),
                    {{"command", Argv{"true"}},
                     {"restore_command", Argv{"sh", "-c", "cat > /dev/null && touch \"$0\"", marker.string()}}});
    {
        harness::RestoreTarget target(source, {});
        ASSERT_EQ(target.open_status(), BH_OK);
        ASSERT_EQ(target.write("partial"), BH_OK);
    }  // restore_abort
    EXPECT_TRUE(no_children_left());
    EXPECT_FALSE(fs::exists(marker));
}

}  // namespace
}  // namespace backhaul
