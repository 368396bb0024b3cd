// Configuration limits through the real `backhaul` binary: a duration beyond the maximum and a ${secret:...} on a
// child's command line are refused by `validate` (exit 2, FILE:LINE:COL) before anything runs; the maximum itself, and
// ${env:...} on a command line, run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "command_runner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class ValidateCommand : public ::testing::Test {
  protected:
    void SetUp() override { std::filesystem::create_directories(sink_dir()); }

    // name (line 1), lock_dir (line 2), `top` (from line 3), then [source] with `source_options`.
    std::filesystem::path pipeline(const std::string& top, const std::string& source_options,
                                   const std::string& tail = "") {
        const std::string text = "name = \"limits\"\nlock_dir = \"" + (tmp_ / "locks").string() + "\"\n" + top +
                                 "\n[source]\nplugin = \"source-command\"\n" + source_options +
                                 "\n[sink]\nplugin = \"sink-local\"\npath = \"" + sink_dir().string() +
                                 "\"\nkey = \"{pipeline}/backup\"\n" + tail;
        const std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }
    std::filesystem::path sink_dir() const { return tmp_ / "sink"; }

    CommandResult backhaul(std::vector<std::string> args, const CommandOptions& options = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        return run_command(args, options);
    }

    TempDir tmp_;
};

TEST_F(ValidateCommand, TimeoutAboveTheMaximumExitsTwo) {
    const auto file = pipeline("timeout = \"1000000000000d\"", "command = [\"printf\", \"data\"]");
    for (const char* command : {"validate", "run"}) {
        const CommandResult r = backhaul({command, file.string()});
        EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr(file.string() +
                                     ":3:11: 'timeout': duration '1000000000000d' is above the maximum of 36500d "
                                     "(100 years)"))
            << r.err;
    }
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

// 1000000d fits in int64 milliseconds but not in a clock's nanoseconds: it used to time a run out at once.
TEST_F(ValidateCommand, TimeoutMeantAsNeverIsRefusedNotWrapped) {
    const auto file = pipeline("timeout = \"1000000d\"", "command = [\"printf\", \"data\"]");
    const CommandResult r = backhaul({"validate", file.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(file.string() + ":3:11: 'timeout': duration '1000000d' is above the maximum"));
}

TEST_F(ValidateCommand, IncompleteAfterAboveTheMaximumExitsTwo) {
    const auto file = pipeline("", "command = [\"printf\", \"data\"]",
                               "\n[retention]\nkeep_last = 2\nincomplete_after = \"1000000d\"\n");
    const CommandResult r = backhaul({"validate", file.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(file.string() +
                                 ":14:20: retention: 'incomplete_after': duration '1000000d' is above the maximum of "
                                 "36500d (100 years)"))
        << r.err;
}

TEST_F(ValidateCommand, TheMaximumTimeoutRunsToCompletion) {
    const auto file = pipeline("timeout = \"36500d\"", "command = [\"printf\", \"data\"]",
                               "\n[retention]\nkeep_last = 2\nincomplete_after = \"36500d\"\n");
    const CommandResult validate = backhaul({"validate", file.string()});
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    const CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(read_file(sink_dir() / "limits" / "backup"), "data");
}

TEST_F(ValidateCommand, SecretOnACommandLineExitsTwoPointingToEnv) {
    const std::string secrets = "[secrets.db]\nplugin = \"secret-env\"\nfields = { password = \"DB_PASSWORD\" }\n";
    for (const char* option : {"command", "restore_command"}) {
        const std::string source = std::string(option == std::string("command") ? "" : "command = [\"true\"]\n") +
                                   option + " = [\"sh\", \"-c\", \"echo ${secret:db.password}\"]";
        const auto file = pipeline(secrets, source);
        const int line = option == std::string("command") ? 9 : 10;
        const std::string column = option == std::string("command") ? "24" : "32";
        for (const char* command : {"validate", "run"}) {
            CommandOptions options;
            options.env["DB_PASSWORD"] = "hunter2-not-on-argv";
            const CommandResult r = backhaul({command, file.string()}, options);
            EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
            EXPECT_THAT(r.err, HasSubstr(file.string() + ":" + std::to_string(line) + ":" + column +
                                         ": source (source-command): option '" + option +
                                         "'[2] would put a ${secret:...} value on a command line, which every local "
                                         "user can read; pass the secret through option 'env' instead"))
                << r.err;
            EXPECT_THAT(r.err, Not(HasSubstr("hunter2")));
        }
    }
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

TEST_F(ValidateCommand, EnvReferenceOnACommandLineAndSecretInEnvRun) {
    const std::string secrets = "[secrets.db]\nplugin = \"secret-env\"\nfields = { password = \"DB_PASSWORD\" }\n";
    const auto file = pipeline(secrets,
                               "command = [\"sh\", \"-c\", \"printf '%s:%s' ${env:GREETING} \\\"$PW\\\"\"]\n"
                               "env = { PW = \"${secret:db.password}\" }");
    CommandOptions options;
    options.env = {{"GREETING", "hello"}, {"DB_PASSWORD", "pw-in-env"}};
    const CommandResult validate = backhaul({"validate", file.string()}, options);
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    const CommandResult run = backhaul({"run", file.string()}, options);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(read_file(sink_dir() / "limits" / "backup"), "hello:pw-in-env");
}

TEST_F(ValidateCommand, PluginsDescribeShowsTheArgvFlag) {
    const CommandResult text = backhaul({"plugins", "describe", "source-command"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_THAT(text.out, HasSubstr(" list, required, argv (no ${secret:...}), not empty\n"));
    EXPECT_THAT(text.out, HasSubstr(" table\n"));  // env: no flag

    const CommandResult json = backhaul({"plugins", "describe", "source-command", "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    const nlohmann::json described = nlohmann::json::parse(json.out);
    std::map<std::string, bool> argv;
    for (const nlohmann::json& option : described.at("options")) argv[option.at("name")] = option.at("argv");
    EXPECT_EQ(argv, (std::map<std::string, bool>{
                        {"command", true}, {"restore_command", true}, {"env", false}, {"working_dir", false}}));
}

}  // namespace
}  // namespace backhaul::testing
