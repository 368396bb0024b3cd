// The command line as an operator and a log collector meet it, through the real `backhaul` binary.
#include <backhaul/plugin_abi.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "command_runner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

class CommandLineTest : public ::testing::Test {
  protected:
    CommandResult backhaul(std::vector<std::string> args, const CommandOptions& options = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        return run_command(args, options);
    }

    // A pipeline whose source runs `script` (sh) and stores into the temp dir, gzip-compressed.
    std::filesystem::path pipeline(const std::string& script, const std::string& extra_source = "") {
        write_file(tmp_ / "source.sh", script);
        std::string text = "name = \"clitest\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"sh\", \"" +
                           (tmp_ / "source.sh").string() + "\"]\n" + extra_source +
                           "\n[[transform]]\nplugin = \"compress-gzip\"\n\n[sink]\nplugin = \"sink-local\"\npath = \"" +
                           (tmp_ / "sink").string() + "\"\nkey = \"{pipeline}/backup-%Y%m%d%H%M%S{ext}\"\n";
        std::filesystem::create_directories(tmp_ / "sink");
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }

    // Every line of `err` is one JSON object for nlohmann's strict parser (which refuses invalid UTF-8) and for
    // Python's json module (strict: no raw control characters), reading the bytes as UTF-8 with errors="strict".
    std::vector<nlohmann::json> expect_json_lines(const std::string& err) {
        std::vector<nlohmann::json> events;
        for (const std::string& line : lines_of(err)) {
            try {
                nlohmann::json event = nlohmann::json::parse(line);
                EXPECT_TRUE(event.is_object()) << line;
                events.push_back(std::move(event));
            } catch (const nlohmann::json::exception& e) {
                ADD_FAILURE() << "not JSON (" << e.what() << "): " << line.substr(0, 300);
            }
        }
        write_file(tmp_ / "stderr.jsonl", err);
        CommandResult python = run_command(
            {"python3", "-c",
             "import json, sys\n"
             "for n, line in enumerate(open(sys.argv[1], encoding='utf-8', errors='strict', newline='\\n'), 1):\n"
             "    if not isinstance(json.loads(line), dict): sys.exit(f'line {n}: not an object')\n",
             (tmp_ / "stderr.jsonl").string()});
        EXPECT_EQ(python.exit_code, 0) << python.err;
        return events;
    }

    TempDir tmp_;
};

TEST_F(CommandLineTest, JsonLogLinesStayJsonWhateverAChildPrints) {
    // Latin-1 and stray bytes, control characters and escapes, quotes and backslashes, a 200 000-byte line (passed on
    // in pieces that may cut anywhere) and a last line that ends inside a UTF-8 character.
    auto file = pipeline(
        "printf 'latin1 caf\\351 and \\377\\376 bytes\\n' >&2\n"
        "printf 'controls \\001\\002\\033[31mred\\033[0m tab\\there \"quoted\" back\\\\slash\\n' >&2\n"
        "head -c 200000 /dev/zero | tr '\\0' x >&2; printf '\\n' >&2\n"
        "printf 'cut inside \\342\\202' >&2\n"
        "printf 'the data\\n'\n");
    CommandResult run = backhaul({"--log-format", "json", "run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err.substr(0, 2000);
    std::vector<nlohmann::json> events = expect_json_lines(run.err);
    ASSERT_FALSE(events.empty());

    std::string messages;
    size_t xs = 0;
    for (const nlohmann::json& e : events) {
        std::string msg = e.value("msg", "");
        xs += static_cast<size_t>(std::count(msg.begin(), msg.end(), 'x'));
        messages += msg + "\n";
    }
    EXPECT_THAT(messages, HasSubstr("caf\xEF\xBF\xBD and \xEF\xBF\xBD\xEF\xBF\xBD bytes"));  // U+FFFD for each bad byte
    EXPECT_THAT(messages, HasSubstr("controls \x01\x02\x1b[31mred"));  // escaped, then parsed back
    EXPECT_THAT(messages, HasSubstr("\"quoted\" back\\slash"));
    EXPECT_GE(xs, 200000u);
    EXPECT_THAT(messages, HasSubstr("cut inside \xEF\xBF\xBD"));

    // The summary carries its facts as fields.
    const nlohmann::json& summary = events.back();
    EXPECT_EQ(summary.value("event", ""), "run_summary") << summary.dump();
    EXPECT_EQ(summary.value("level", ""), "info");
    EXPECT_EQ(summary.value("pipeline", ""), "clitest");
    EXPECT_EQ(summary.value("outcome", ""), "success");
    EXPECT_EQ(summary.value("raw_bytes", uint64_t{0}), std::string("the data\n").size());
    EXPECT_THAT(summary.value("key", ""), StartsWith("clitest/backup-"));
    auto files = files_below(tmp_ / "sink");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(summary.value("key", ""), files[0]);
    EXPECT_EQ(summary.value("stored_bytes", uint64_t{0}), std::filesystem::file_size(tmp_ / "sink" / files[0]));
    EXPECT_TRUE(summary.contains("duration_ms") && summary["duration_ms"].is_number_integer());
    EXPECT_EQ(summary.value("backup_complete", false), true);
}

TEST_F(CommandLineTest, AFailedRunSummaryInJsonSaysFailureWithTheError) {
    auto file = pipeline("printf 'partial'\nexit 3\n");
    CommandResult run = backhaul({"run", file.string(), "--log-format=json"});
    ASSERT_EQ(run.exit_code, 1) << run.err;
    std::vector<nlohmann::json> events = expect_json_lines(run.err);
    ASSERT_FALSE(events.empty());
    const nlohmann::json& summary = events.back();
    EXPECT_EQ(summary.value("event", ""), "run_summary");
    EXPECT_EQ(summary.value("outcome", ""), "failure");
    EXPECT_EQ(summary.value("data_committed", true), false);
    EXPECT_THAT(summary.value("error", ""), HasSubstr("exit"));
    EXPECT_THAT(files_below(tmp_ / "sink"), IsEmpty());
}

TEST_F(CommandLineTest, ConfigAndUsageErrorsInJsonModeAreJson) {
    auto file = pipeline("printf x\n", "colour = \"red\"\n");
    for (const char* command : {"run", "validate"}) {
        CommandResult r = backhaul({"--log-format", "json", command, file.string()});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        std::vector<nlohmann::json> events = expect_json_lines(r.err);
        ASSERT_FALSE(events.empty()) << command;
        EXPECT_EQ(events.front().value("level", ""), "error");
        EXPECT_THAT(events.front().value("msg", ""), StartsWith(file.string() + ":6:1: source (source-command): "
                                                                                "unknown option 'colour'"));
        EXPECT_EQ(events.front().value("file", ""), file.string());
        EXPECT_EQ(events.front().value("line", 0), 6);
        EXPECT_EQ(events.front().value("column", 0), 1);
    }
    // Several problems of one file: one event each.
    auto two = pipeline("printf x\n", "colour = \"red\"\nshape = \"round\"\n");
    CommandResult both = backhaul({"--log-format", "json", "validate", two.string()});
    EXPECT_EQ(both.exit_code, 2) << both.err;
    std::vector<nlohmann::json> problems = expect_json_lines(both.err);
    ASSERT_EQ(problems.size(), 2u) << both.err;
    EXPECT_EQ(problems[0].value("line", 0), 6);
    EXPECT_EQ(problems[1].value("line", 0), 7);

    // A flag `run` does not take, a missing argument, an unknown command: exit 2, one JSON line each.
    for (std::vector<std::string> args :
         {std::vector<std::string>{"run", file.string(), "--json"}, std::vector<std::string>{"restore", file.string()},
          std::vector<std::string>{"frobnicate"}, std::vector<std::string>{}}) {
        args.insert(args.begin(), {"--log-format", "json"});
        CommandResult r = backhaul(args);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        std::vector<nlohmann::json> events = expect_json_lines(r.err);
        EXPECT_EQ(events.size(), 1u) << r.err;
    }
}

TEST_F(CommandLineTest, QuietSuccessPrintsNothing) {
    auto file = pipeline("printf 'child chatter\\n' >&2\nprintf 'the data\\n'\n");
    CommandResult run = backhaul({"-q", "run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, "");
    CommandResult verify = backhaul({"verify", file.string(), "--latest", "--quiet"});
    ASSERT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_EQ(verify.out + verify.err, "");
    CommandResult validate = backhaul({"validate", "-q", file.string()});
    ASSERT_EQ(validate.exit_code, 0) << validate.err;
    EXPECT_EQ(validate.out + validate.err, "");

    // A failure still speaks, so that cron mails it.
    auto failing = pipeline("exit 5\n");
    CommandResult failed = backhaul({"-q", "run", failing.string()});
    EXPECT_EQ(failed.exit_code, 1);
    EXPECT_THAT(failed.err, HasSubstr("run failed, nothing committed"));
}

TEST_F(CommandLineTest, FlagsACommandDoesNotTakeAreOneLineErrors) {
    auto file = pipeline("printf x\n");
    CommandResult json_on_run = backhaul({"run", file.string(), "--json"});
    EXPECT_EQ(json_on_run.exit_code, 2);
    EXPECT_EQ(json_on_run.err, "backhaul: run: unknown option '--json' (see 'backhaul run --help')\n");
    EXPECT_THAT(files_below(tmp_ / "sink"), IsEmpty());

    CommandResult extra = backhaul({"validate", file.string(), "other.toml"});
    EXPECT_EQ(extra.exit_code, 2);
    EXPECT_EQ(extra.err, "backhaul: validate: unexpected argument 'other.toml' (see 'backhaul validate --help')\n");

    CommandResult no_key = backhaul({"restore", file.string()});
    EXPECT_EQ(no_key.exit_code, 2);
    EXPECT_EQ(lines_of(no_key.err).size(), 1u) << no_key.err;
    EXPECT_THAT(no_key.err, HasSubstr("--key"));

    CommandResult both = backhaul({"verify", file.string(), "--key", "k", "--latest"});
    EXPECT_EQ(both.exit_code, 2);
    EXPECT_EQ(lines_of(both.err).size(), 1u) << both.err;

    CommandResult bad_level = backhaul({"--log-level", "loud", "validate", file.string()});
    EXPECT_EQ(bad_level.exit_code, 2);
    EXPECT_THAT(bad_level.err, HasSubstr("loud"));

    // The source's restore options are checked against its plugin's table.
    CommandResult unknown_restore = backhaul({"restore", file.string(), "--key", "k", "--target-database", "x"});
    EXPECT_EQ(unknown_restore.exit_code, 2);
    EXPECT_THAT(unknown_restore.err, HasSubstr("unknown restore option '--target-database' for source-command"));
}

TEST_F(CommandLineTest, SpellingsPeopleKnow) {
    auto file = pipeline("printf 'the data\\n'\n");
    // `--` ends the options; global options may follow the command.
    CommandResult run = backhaul({"run", "--no-progress", "--log-level=warn", "--", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");
    auto files = files_below(tmp_ / "sink");
    ASSERT_EQ(files.size(), 2u);
    const std::string& key = files[0];
    for (std::vector<std::string> spelling :
         {std::vector<std::string>{"--key", key, "--output"}, std::vector<std::string>{"--key=" + key, "-o"}}) {
        std::filesystem::path out = tmp_ / ("restored-" + std::to_string(spelling.size()) + spelling[0].substr(0, 6));
        std::vector<std::string> args = {"restore", file.string()};
        args.insert(args.end(), spelling.begin(), spelling.end());
        args.push_back(out.string());
        CommandResult r = backhaul(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(read_file(out), "the data\n");
    }
    CommandResult to_stdout = backhaul({"restore", file.string(), "--key", key, "--output=-"});
    ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
    EXPECT_EQ(to_stdout.out, "the data\n");
    CommandResult verify = backhaul({"verify", "--key=" + key, file.string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_THAT(verify.out, HasSubstr("verified '" + key + "'"));
}

TEST_F(CommandLineTest, EachCommandHasItsOwnHelp) {
    CommandResult run_help = backhaul({"run", "--help"});
    ASSERT_EQ(run_help.exit_code, 0) << run_help.err;
    EXPECT_THAT(run_help.out, HasSubstr("backhaul run"));
    EXPECT_THAT(run_help.out, HasSubstr("--metrics-file"));
    EXPECT_THAT(run_help.out, Not(HasSubstr("--dry-run")));
    CommandResult help_prune = backhaul({"help", "prune"});
    ASSERT_EQ(help_prune.exit_code, 0) << help_prune.err;
    EXPECT_THAT(help_prune.out, HasSubstr("--dry-run"));
    EXPECT_THAT(help_prune.out, Not(HasSubstr("--metrics-file")));
    CommandResult describe = backhaul({"help", "plugins", "describe"});
    ASSERT_EQ(describe.exit_code, 0) << describe.err;
    EXPECT_THAT(describe.out, HasSubstr("backhaul plugins describe"));
    CommandResult top = backhaul({"--help"});
    ASSERT_EQ(top.exit_code, 0);
    for (const char* command : {"run", "list", "verify", "prune", "validate", "restore", "plugins", "keygen", "help"})
        EXPECT_THAT(top.out, HasSubstr(std::string("  ") + command)) << command;
    EXPECT_THAT(top.out, Not(HasSubstr("__man")));
    EXPECT_EQ(backhaul({"help", "frobnicate"}).exit_code, 2);
}

TEST_F(CommandLineTest, VersionNamesTheBuildTheAbiAndThePluginsFound) {
    CommandResult v = backhaul({"--version"});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    std::vector<std::string> lines = lines_of(v.out);
    ASSERT_GE(lines.size(), 4u) << v.out;
    EXPECT_THAT(lines[0], ::testing::MatchesRegex("backhaul [0-9]+\\.[0-9]+\\.[0-9]+"));
    EXPECT_THAT(lines[1], ::testing::MatchesRegex("commit [0-9a-zA-Z.-]+"));
    EXPECT_EQ(lines[2], "plugin ABI " + std::to_string(BH_ABI_MAJOR) + "." + std::to_string(BH_ABI_MINOR));
    EXPECT_EQ(lines[3], "plugins:");
    // The plugins next to the binary, each with its version and file.
    bool found = false;
    for (const std::string& line : lines)
        if (line.find("source-command") != std::string::npos)
            found = line.find(std::string(BACKHAUL_PLUGIN_BUILD_DIR) + "/source-command.so") != std::string::npos;
    EXPECT_TRUE(found) << v.out;
}

TEST_F(CommandLineTest, TheBuildGeneratesACompletionThatCompletesFromTheDefinition) {
    ASSERT_EQ(read_file(BACKHAUL_COMPLETION_FILE), backhaul({"__completion", "bash"}).out);
    auto complete = [&](const std::string& words) {
        write_file(tmp_ / "complete.sh", "source '" BACKHAUL_COMPLETION_FILE "'\nCOMP_WORDS=(" + words +
                                             ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_backhaul\n"
                                             "printf '%s\\n' \"${COMPREPLY[@]}\"\n");
        CommandResult r = run_command({"bash", (tmp_ / "complete.sh").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    };
    EXPECT_EQ(complete("backhaul ver"), "verify\n");
    EXPECT_EQ(complete("backhaul run p.toml --me"), "--metrics-file\n");
    EXPECT_THAT(complete("backhaul prune --"), HasSubstr("--dry-run\n"));
    EXPECT_THAT(complete("backhaul prune --"), HasSubstr("--log-format\n"));
    EXPECT_THAT(complete("backhaul prune --"), Not(HasSubstr("--metrics-file")));
    EXPECT_EQ(complete("backhaul --log-format j"), "json\n");
    EXPECT_EQ(complete("backhaul list p.toml --log-level w"), "warn\n");
    EXPECT_EQ(complete("backhaul plugins d"), "describe\n");
    EXPECT_EQ(complete("backhaul keygen ''"), "age\n");
}

TEST_F(CommandLineTest, TheBuildGeneratesAManPageThatRenders) {
    std::string page = read_file(BACKHAUL_MAN_PAGE);
    ASSERT_EQ(page, backhaul({"__man"}).out);
    write_file(tmp_ / "backhaul.1", page);
    CommandResult rendered = run_command({"groff", "-man", "-Tutf8", "-ww", "-z", (tmp_ / "backhaul.1").string()});
    EXPECT_EQ(rendered.exit_code, 0) << rendered.err;
    EXPECT_EQ(rendered.err, "");  // -ww: every warning, e.g. an unknown request
    CommandResult text =
        run_command({"groff", "-man", "-Tascii", "-P-cbou", "-rLL=300n", "-rHY=0", (tmp_ / "backhaul.1").string()});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    for (const char* expected : {"backhaul run", "--metrics-file", "backhaul plugins describe", "--target-database",
                                 "--log-format", "EXIT STATUS"})
        EXPECT_THAT(text.out, HasSubstr(expected)) << expected;
}

}  // namespace
}  // namespace backhaul::testing
