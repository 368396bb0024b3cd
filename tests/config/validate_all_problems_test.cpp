// `backhaul validate` reports every problem of a file at once, and refuses what `run` refuses about the core's own keys
// (name, durations, key template, retention, notifier events) at the same position; values from secrets are checked
// (limits, the plugin's validate) once a run has fetched them, still as configuration errors (exit 2).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "command_runner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class ValidateAllProblems : public ::testing::Test {
  protected:
    void SetUp() override { std::filesystem::create_directories(sink_dir()); }

    std::filesystem::path write(const std::string& text) {
        const std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }
    std::filesystem::path sink_dir() const { return tmp_ / "sink"; }
    std::string plugin_path() const { return "plugin_path = [\"" + std::string(BACKHAUL_PLUGIN_BUILD_DIR) + "\"]\n"; }
    std::string lock_dir() const { return "lock_dir = \"" + (tmp_ / "locks").string() + "\"\n"; }

    CommandResult backhaul(std::vector<std::string> args, const CommandOptions& options = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        return run_command(args, options);
    }

    TempDir tmp_;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

TEST_F(ValidateAllProblems, ThreeTyposInThreePlacesAreThreeLines) {
    const auto file = write("name = \"typos\"\n" + lock_dir() +
                            "tiemout = \"1h\"\n"
                            "\n"
                            "[source]\n"
                            "plugin = \"source-command\"\n"
                            "command = [\"printf\", \"data\"]\n"
                            "enw = { A = \"b\" }\n"
                            "\n"
                            "[[transform]]\n"
                            "plugin = \"compress-gzip\"\n"
                            "levl = 9\n"
                            "\n"
                            "[sink]\n"
                            "plugin = \"sink-local\"\n"
                            "path = \"" +
                            sink_dir().string() +
                            "\"\n"
                            "key = \"{pipeline}/backup{ext}\"\n");
    for (const char* command : {"validate", "run"}) {
        const CommandResult r = backhaul({command, file.string()});
        EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
        const std::string f = file.string();
        EXPECT_EQ(
            lines_of(r.err),
            (std::vector<std::string>{
                f + ":3:1: unknown key 'tiemout' (allowed: name, timezone, plugin_path, lock_dir, timeout, "
                    "allow_empty, shrink_threshold, jobs, memory_budget, secrets, source, transform, sink, retention, "
                    "notify)",
                f + ":8:1: source (source-command): unknown option 'enw' (allowed: command, restore_command, "
                    "env, working_dir)",
                f + ":12:1: transform[0] (compress-gzip): unknown option 'levl' (allowed: level, threads)",
            }))
            << command;
    }
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

TEST_F(ValidateAllProblems, ProblemsOfEveryKindInOneFileAreAllReportedInFileOrder) {
    const auto file = write("name = \"..\"\n" + lock_dir() +
                            "timeout = \"5x\"\n"
                            "\n"
                            "[source]\n"
                            "plugin = \"source-commnd\"\n"
                            "\n"
                            "[[transform]]\n"
                            "plugin = \"compress-gzip\"\n"
                            "level = 12\n"
                            "threads = -1\n"
                            "\n"
                            "[sink]\n"
                            "plugin = \"sink-local\"\n"
                            "key = \"%Q\"\n"
                            "\n"
                            "[retention]\n"
                            "keep_last = -1\n");
    const CommandResult r = backhaul({"validate", file.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    std::vector<std::string> positions;
    for (const std::string& line : lines_of(r.err)) {
        ASSERT_EQ(line.rfind(file.string() + ":", 0), 0u) << line;
        const std::string rest = line.substr(file.string().size() + 1);
        positions.push_back(rest.substr(0, rest.find(": ")));
    }
    // name, timeout, unknown plugin, level, threads, missing path (at [sink]), key, keep_last
    EXPECT_EQ(positions, (std::vector<std::string>{"1:8", "3:11", "6:10", "10:9", "11:11", "13:1", "15:7", "18:13"}))
        << r.err;
}

// A value outside its limit does not hide the same stage's other problems: the plugin's validate still runs (it sees
// the refused value as unknown, so that value is reported once).
TEST_F(ValidateAllProblems, AValueOutsideItsLimitDoesNotHideTheStagesOtherProblems) {
    const auto file = write("name = \"limits-and-formats\"\n" + lock_dir() +
                            "\n"
                            "[source]\n"
                            "plugin = \"source-command\"\n"
                            "command = [\"printf\", \"data\"]\n"
                            "\n"
                            "[[transform]]\n"
                            "plugin = \"encrypt-age\"\n"
                            "recipients = [\"age1nope\"]\n"
                            "work_factor = 99\n"
                            "\n"
                            "[sink]\n"
                            "plugin = \"sink-local\"\n"
                            "path = \"" +
                            sink_dir().string() +
                            "\"\n"
                            "key = \"{pipeline}/backup{ext}\"\n");
    const CommandResult r = backhaul({"validate", file.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const std::vector<std::string> lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 2u) << r.err;
    EXPECT_THAT(lines[0],
                ::testing::StartsWith(file.string() + ":10:14: transform[0] (encrypt-age): option 'recipients': "
                                                      "'age1nope' is not an age X25519 recipient"));
    EXPECT_THAT(lines[1],
                ::testing::StartsWith(file.string() + ":11:15: transform[0] (encrypt-age): option 'work_factor': "
                                                      "must be between"));
}

// The core's own keys: everything run refuses, validate refuses at the same position, both with exit 2.
struct CoreCase {
    std::string name;      // the `name` value as written
    std::string top;       // one more top-level line (line 3)
    std::string key;       // the sink's `key` value as written
    std::string tail;      // tables after [sink] (from line 13)
    std::string position;  // "LINE:COL"
    std::string message;
};

TEST_F(ValidateAllProblems, CoreKeysAreRefusedByValidateAsByRun) {
    const std::string name = "\"core\"", key = "\"{pipeline}/backup\"";
    const auto name_case = [&](std::string value, std::string position, std::string message) {
        return CoreCase{std::move(value), "", key, "", std::move(position), std::move(message)};
    };
    const auto top_case = [&](std::string line, std::string position, std::string message) {
        return CoreCase{name, std::move(line), key, "", std::move(position), std::move(message)};
    };
    const auto key_case = [&](std::string value, std::string position, std::string message) {
        return CoreCase{name, "", std::move(value), "", std::move(position), std::move(message)};
    };
    const auto tail_case = [&](std::string tables, std::string position, std::string message) {
        return CoreCase{name, "", key, std::move(tables), std::move(position), std::move(message)};
    };
    const std::vector<CoreCase> cases = {
        name_case("\"..\"", "1:8", "invalid pipeline name '..'"),
        name_case("\".\"", "1:8", "invalid pipeline name '.'"),
        name_case("\"" + std::string(300, 'a') + "\"", "1:8",
                  "pipeline name is 300 characters long; the maximum is 128"),
        name_case("\"a b\"", "1:8", "invalid pipeline name 'a b'"),
        name_case("7", "1:8", "'name' must be a string, got integer"),
        top_case("timeout = \"5x\"", "3:11", "'timeout': invalid duration '5x'"),
        top_case("timeout = 0", "3:11", "'timeout' must be greater than zero"),
        top_case("timeout = \"1000000d\"", "3:11", "is above the maximum of 36500d"),
        top_case("shrink_threshold = 2", "3:20", "'shrink_threshold' must be from 0"),
        top_case("timezone = \"Mars/Olympus\"", "3:12", "Mars/Olympus"),
        top_case("lock_dir = \"\"", "3:12", "'lock_dir' is empty"),
        top_case("plugin_path = [\"\"]", "3:16", "'plugin_path[0]' is empty"),
        top_case("allow_empty = \"yes\"", "3:15", "'allow_empty' must be a boolean"),
        key_case("\"/abs/{pipeline}\"", "12:7", "key template: must not start with '/'"),
        key_case("\"{pipeline}/{nope}\"", "12:7", "key uses {nope}, which no stage publishes"),
        key_case("\"%Q\"", "12:7", "unknown time field '%Q'"),
        key_case("\"a/../{pipeline}\"", "12:7", "gives an unsafe key"),
        key_case("7", "12:7", "sink: option 'key' must be a string, got integer"),
        tail_case("[retention]\nkeep_last = -1", "14:13", "'keep_last' must not be negative"),
        tail_case("[retention]\nkeep_last = 2\nincomplete_after = \"soon\"", "15:20",
                  "'incomplete_after': invalid duration 'soon'"),
        tail_case("[retention]\nmin_keep = 3", "13:1", "retention: no keep_* rule is set"),
        tail_case("[retention]\nkeep_lst = 3", "14:1", "retention: unknown key 'keep_lst'"),
        tail_case(
            "[[notify]]\nplugin = \"notify-webhook\"\nurl = \"https://example.invalid/hook\"\non = [\"sometimes\"]",
            "16:7", "notify[0]: 'on': unknown event 'sometimes'"),
        tail_case("[[notify]]\nplugin = \"notify-webhook\"\nurl = \"https://example.invalid/hook\"\non = []", "16:6",
                  "notify[0]: 'on' must not be empty"),
    };
    for (const CoreCase& c : cases) {
        // A case about lock_dir or plugin_path takes the place of the fixture's own line (which stays, empty).
        const bool own_lock_dir = c.top.rfind("lock_dir", 0) == 0, own_plugin_path = c.top.rfind("plugin_path", 0) == 0;
        const std::string text = "name = " + c.name + "\n" + (own_lock_dir ? "\n" : lock_dir()) + c.top + "\n" +
                                 (own_plugin_path ? "\n" : plugin_path()) +
                                 "[source]\nplugin = \"source-command\"\ncommand = [\"printf\", \"data\"]\n\n"
                                 "[sink]\nplugin = \"sink-local\"\npath = \"" +
                                 sink_dir().string() + "\"\nkey = " + c.key + "\n" + c.tail + "\n";
        const auto file = write(text);
        SCOPED_TRACE(text);
        for (const char* command : {"validate", "run"}) {
            const CommandResult r = backhaul({command, file.string()});
            EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
            EXPECT_THAT(r.err, HasSubstr(file.string() + ":" + c.position + ": ")) << command;
            EXPECT_THAT(r.err, HasSubstr(c.message)) << command;
        }
    }
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

// Values from ${secret:...}: validate passes them to the plugin as deferred (set, value unknown), and a run checks
// them once fetched.
class SecretValues : public ValidateAllProblems {
  protected:
    // The transform table starts at line 9; `age_options` from line 11.
    std::filesystem::path pipeline(const std::string& age_options) {
        return write("name = \"deferred\"\n" + lock_dir() + plugin_path() +
                     "\n[secrets.s]\nplugin = \"secret-env\"\nfields = { value = \"BH_TEST_SECRET_VALUE\" }\n"
                     "allow_empty = true\n"
                     "[[transform]]\nplugin = \"encrypt-age\"\n" +
                     age_options +
                     "\n[source]\nplugin = \"source-command\"\ncommand = [\"printf\", \"data\"]\n"
                     "[sink]\nplugin = \"sink-local\"\npath = \"" +
                     sink_dir().string() + "\"\nkey = \"{pipeline}/backup{ext}\"\n");
    }
    CommandResult with_secret(const char* command, const std::filesystem::path& file, const std::string& value) {
        CommandOptions options;
        options.env["BH_TEST_SECRET_VALUE"] = value;
        return backhaul({command, file.string()}, options);
    }
};

TEST_F(SecretValues, ALimitIsCheckedWhenTheRunHasTheSecret) {
    const auto file = pipeline("passphrase = \"${secret:s.value}\"");
    const CommandResult validate = with_secret("validate", file, "");
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    const CommandResult run = with_secret("run", file, "");
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_THAT(run.err, HasSubstr(file.string() +
                                   ":11:14: transform[0] (encrypt-age): option 'passphrase': must not be empty"));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());

    const CommandResult good = with_secret("run", file, "a passphrase");
    EXPECT_EQ(good.exit_code, 0) << good.err;
}

TEST_F(SecretValues, ThePluginsValidateSeesADeferredValueAsSet) {
    // recipients is unknown to validate, but given: with a passphrase that is a conflict validate can already see.
    const auto file = pipeline("recipients = [\"${secret:s.value}\"]\npassphrase = \"pw\"");
    const CommandResult validate = with_secret("validate", file, "age1nope");
    EXPECT_EQ(validate.exit_code, 2) << validate.err;
    EXPECT_THAT(validate.err,
                HasSubstr(file.string() + ":12:14: transform[0] (encrypt-age): option 'passphrase': cannot be "
                                          "combined with 'recipients' or 'recipients_file'"));
    EXPECT_THAT(validate.err, Not(HasSubstr("not an age X25519 recipient")));  // its value is not known yet
}

TEST_F(SecretValues, APluginRefusingTheFetchedValueIsAConfigurationErrorAtTheStage) {
    const auto file = pipeline("recipients = [\"${secret:s.value}\"]");
    const CommandResult validate = with_secret("validate", file, "age1nope");
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    const CommandResult run = with_secret("run", file, "age1nope");
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_THAT(run.err, HasSubstr(file.string() + ":9:1: transform[0] (encrypt-age): option 'recipients': "));
    EXPECT_THAT(run.err, HasSubstr("is not an age X25519 recipient"));
    EXPECT_THAT(run.err, Not(HasSubstr("age1nope")));  // a secret's value, even a wrong one, is not printed
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

TEST_F(ValidateAllProblems, PluginsDescribeShowsLimits) {
    const CommandResult text = backhaul({"plugins", "describe", "compress-gzip"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_THAT(text.out, HasSubstr("level                int, default 6, between 0 and 9\n"));
    const CommandResult json = backhaul({"plugins", "describe", "compress-gzip", "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_THAT(json.out, HasSubstr("\"limits\": {\n        \"max\": 9,\n        \"min\": 0,\n        \"text\": "
                                    "\"between 0 and 9\"\n      }"));
}

}  // namespace
}  // namespace backhaul::testing
