#include "config/pipeline_spec.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/option_binding.hpp"
#include "config/retention_policy.hpp"
#include "config_test_support.hpp"

namespace backhaul {
namespace {

using testing::config_error;

std::string parse_error(const std::string& text) {
    return config_error([&] { parse_pipeline_text(text, "p.toml"); });
}

const char* const seed_pipeline = R"(name = "app-db"
timezone = "Asia/Seoul"
plugin_path = ["/opt/backhaul/plugins", "plugins"]

[secrets.db]
plugin = "secret-file"
path = "/etc/backhaul/db.toml"

[secrets.aws-keys]
plugin = "secret-env"

[source]
plugin = "source-postgres"
database = "app"
password = "${secret:db.password}"

[[transform]]
plugin = "compress-gzip"
level = 9

[[transform]]
plugin = "encrypt-age"
recipients = ["age1xyz"]

[sink]
plugin = "sink-local"
path = "/var/backups"
key = "%Y/%m/%d/{database}_%Y%m%d%H%M{ext}"

[[notify]]
plugin = "notify-webhook"
on = ["failure"]
url = "${env:HOOK_URL}"

[retention]
keep_last = 7
)";

std::vector<std::string> option_names(const StageSpec& stage) {
    std::vector<std::string> names;
    for (const OptionEntry& option : stage.options) names.push_back(option.name);
    return names;
}

TEST(PipelineSpec, ParsesSeedPipeline) {
    const PipelineSpec spec = parse_pipeline_text(seed_pipeline, "p.toml");
    EXPECT_EQ(spec.file, "p.toml");
    EXPECT_EQ(spec.name, "app-db");
    EXPECT_EQ(spec.name_where.to_string(), "p.toml:1:8");
    EXPECT_EQ(spec.timezone, "Asia/Seoul");
    EXPECT_EQ(spec.plugin_path, (std::vector<std::string>{"/opt/backhaul/plugins", "plugins"}));

    ASSERT_EQ(spec.secrets.size(), 2u);
    EXPECT_EQ(spec.secrets[0].first, "db");  // file order, although "aws-keys" sorts first
    EXPECT_EQ(spec.secrets[0].second.label, "secrets.db");
    EXPECT_EQ(spec.secrets[0].second.kind, BH_KIND_SECRET);
    EXPECT_EQ(spec.secrets[0].second.plugin, "secret-file");
    EXPECT_EQ(spec.secrets[0].second.where.to_string(), "p.toml:5:1");
    EXPECT_EQ(option_names(spec.secrets[0].second), std::vector<std::string>{"path"});
    EXPECT_EQ(spec.secrets[1].first, "aws-keys");
    EXPECT_TRUE(spec.secrets[1].second.options.empty());

    EXPECT_EQ(spec.source.label, "source");
    EXPECT_EQ(spec.source.kind, BH_KIND_SOURCE);
    EXPECT_EQ(spec.source.plugin, "source-postgres");
    EXPECT_EQ(spec.source.where.to_string(), "p.toml:12:1");
    EXPECT_EQ(spec.source.plugin_where.to_string(), "p.toml:13:10");
    EXPECT_EQ(option_names(spec.source), (std::vector<std::string>{"database", "password"}));
    EXPECT_EQ(spec.source.options[1].where.to_string(), "p.toml:15:1");
    EXPECT_EQ(spec.source.options[1].value->value<std::string>(), "${secret:db.password}");  // raw: not interpolated

    ASSERT_EQ(spec.transforms.size(), 2u);
    EXPECT_EQ(spec.transforms[0].label, "transform[0]");
    EXPECT_EQ(spec.transforms[0].kind, BH_KIND_TRANSFORM);
    EXPECT_EQ(spec.transforms[0].plugin, "compress-gzip");
    EXPECT_EQ(spec.transforms[0].where.to_string(), "p.toml:17:1");
    EXPECT_EQ(spec.transforms[0].options[0].value->value<int64_t>(), 9);
    EXPECT_EQ(spec.transforms[1].label, "transform[1]");
    EXPECT_EQ(spec.transforms[1].plugin, "encrypt-age");
    EXPECT_TRUE(spec.transforms[1].options[0].value->is_array());

    EXPECT_EQ(spec.sinks.at(0).stage.label, "sink");
    EXPECT_EQ(spec.sinks.at(0).stage.kind, BH_KIND_SINK);
    EXPECT_EQ(spec.sinks.at(0).stage.plugin, "sink-local");
    EXPECT_EQ(option_names(spec.sinks.at(0).stage), std::vector<std::string>{"path"});  // `key` is the host's
    EXPECT_EQ(spec.sinks.at(0).key_template, "%Y/%m/%d/{database}_%Y%m%d%H%M{ext}");
    EXPECT_EQ(spec.sinks.at(0).key_where.to_string(), "p.toml:28:7");

    ASSERT_EQ(spec.notifiers.size(), 1u);
    EXPECT_EQ(spec.notifiers[0].label, "notify[0]");
    EXPECT_EQ(spec.notifiers[0].kind, BH_KIND_NOTIFIER);
    EXPECT_EQ(option_names(spec.notifiers[0]), (std::vector<std::string>{"on", "url"}));

    ASSERT_TRUE(spec.retention);
    EXPECT_EQ((*spec.retention)["keep_last"].value<int64_t>(), 7);
}

TEST(PipelineSpec, OptionsOutliveTheSpecTheyCameFrom) {
    std::shared_ptr<const toml::node> level;
    {
        const PipelineSpec spec = parse_pipeline_text(seed_pipeline, "p.toml");
        level = spec.transforms[0].options[0].value;
    }
    EXPECT_EQ(level->value<int64_t>(), 9);
    EXPECT_EQ(level->source().begin.line, 19u);
}

TEST(PipelineSpec, MinimalPipelineHasDefaults) {
    const PipelineSpec spec = parse_pipeline_text(R"(name = "x"
source = { plugin = "source-command", command = "true" }
sink = { plugin = "sink-local", key = "k" }
)",
                                                  "p.toml");
    EXPECT_EQ(spec.timezone, "");
    EXPECT_TRUE(spec.plugin_path.empty());
    EXPECT_TRUE(spec.secrets.empty());
    EXPECT_TRUE(spec.transforms.empty());
    EXPECT_TRUE(spec.notifiers.empty());
    EXPECT_FALSE(spec.retention);
    EXPECT_EQ(spec.source.where.to_string(), "p.toml:2:10");
    EXPECT_EQ(option_names(spec.source), std::vector<std::string>{"command"});
}

const char* const minimal_tail = R"(
[source]
plugin = "source-command"

[sink]
plugin = "sink-local"
key = "k"
)";

TEST(PipelineSpec, TomlSyntaxErrorHasPosition) {
    EXPECT_EQ(parse_error("name = \"x\"\nlevel = \n"),
              "p.toml:2:9: Error while parsing key-value pair: expected value, saw '\\n'");
}

// toml++ 3.3.0 (Debian 12) reaches TOML_UNREACHABLE in is_non_ascii_horizontal_whitespace for code points such as
// U+00A7, U+00E9, U+0416 and U+3042 (upstream issues #190 and #295, fixed after 3.3.0). The library as Debian compiles
// it answers "not whitespace", which is right; this pins that behaviour for the characters people put in names,
// paths and comments, so a different build of the library cannot change it unnoticed.
TEST(PipelineSpec, NonAsciiTextInEveryKindOfStringAndComment) {
    const PipelineSpec spec = parse_pipeline_text(
        "# sauvegarde des données, Резервная копия, バックアップ §\n"
        "name = \"x\"\n"
        "[source]\nplugin = \"source-command\"\n"
        "command = [\"café-§-Ж-あ\", 'é', \"\"\"Ж\\\n    §x\"\"\"]  # déjà\n"
        "[sink]\nplugin = \"sink-local\"\nkey = '''\nあ/%Y'''\n",
        "p.toml");
    const toml::array* command = spec.source.options[0].value->as_array();
    ASSERT_NE(command, nullptr);
    EXPECT_EQ((*command)[0].value<std::string>(), "café-§-Ж-あ");
    EXPECT_EQ((*command)[1].value<std::string>(), "é");
    EXPECT_EQ((*command)[2].value<std::string>(), "Ж§x");  // line-ending backslash, then U+00A7 first on the line
    EXPECT_EQ(parse_error("name = \"x\"\nlevel = 6é\n"),
              "p.toml:2:10: Error while parsing decimal integer: expected digit, saw 'é'");
    EXPECT_EQ(parse_error("name = \"x\" あ\n"),
              "p.toml:1:12: Error while parsing key-value pair: expected a comment or whitespace, saw 'あ'");
}

TEST(PipelineSpec, JobsIsAnIntegerFromOneToTheLimitAndDefaultsToOne) {
    EXPECT_EQ(parse_pipeline_text(std::string("name = \"x\"\n") + minimal_tail, "p.toml").jobs, 1);
    EXPECT_EQ(parse_pipeline_text(std::string("name = \"x\"\njobs = 4\n") + minimal_tail, "p.toml").jobs, 4);
    EXPECT_EQ(parse_error(std::string("name = \"x\"\njobs = 0\n") + minimal_tail),
              "p.toml:2:8: 'jobs' must be from 1 to 64");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\njobs = 65\n") + minimal_tail),
              "p.toml:2:8: 'jobs' must be from 1 to 64");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\njobs = \"2\"\n") + minimal_tail),
              "p.toml:2:8: 'jobs' must be an integer from 1 to 64, got string");
}

TEST(PipelineSpec, UnknownTopLevelKeyListsAllowed) {
    EXPECT_EQ(
        parse_error(std::string("name = \"x\"\n\n[sinks]\nkey = 1\n") + minimal_tail),
        "p.toml:3:1: unknown key 'sinks' (allowed: name, timezone, plugin_path, lock_dir, timeout, "
        "allow_empty, shrink_threshold, jobs, memory_budget, secrets, source, transform, sink, retention, notify)");
    EXPECT_EQ(
        parse_error(std::string("name = \"x\"\nretries = 3\n") + minimal_tail),
        "p.toml:2:1: unknown key 'retries' (allowed: name, timezone, plugin_path, lock_dir, timeout, "
        "allow_empty, shrink_threshold, jobs, memory_budget, secrets, source, transform, sink, retention, notify)");
}

TEST(PipelineSpec, MissingRequired) {
    EXPECT_EQ(parse_error(minimal_tail), "p.toml:1:1: missing required key 'name'");
    EXPECT_EQ(parse_error("name = \"x\"\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n"),
              "p.toml:1:1: missing required table [source]");
    EXPECT_EQ(parse_error("name = \"x\"\n[source]\nplugin = \"source-command\"\n"),
              "p.toml:1:1: missing required table [sink]");
    EXPECT_EQ(parse_error("name = \"x\"\n[source]\nplugin = \"source-command\"\n\n[sink]\nplugin = \"sink-local\"\n"),
              "p.toml:5:1: sink: missing required option 'key'");
    EXPECT_EQ(parse_error("name = \"x\"\n[source]\ncommand = \"true\"\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n"),
              "p.toml:2:1: source: missing 'plugin'");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\n[[transform]]\nlevel = 1\n") + minimal_tail),
              "p.toml:2:1: transform[0]: missing 'plugin'");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\n[secrets.db]\npath = \"/x\"\n") + minimal_tail),
              "p.toml:2:1: secrets.db: missing 'plugin'");
}

TEST(PipelineSpec, WrongTypes) {
    EXPECT_EQ(parse_error(std::string("name = 5\n") + minimal_tail),
              "p.toml:1:8: 'name' must be a string, got integer");
    EXPECT_EQ(parse_error("name = \"x\"\nsource = \"source-command\"\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n"),
              "p.toml:2:10: 'source' must be a table, got string");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\n[transform]\nplugin = \"compress-gzip\"\n") + minimal_tail),
              "p.toml:2:1: 'transform' must be an array of tables ([[transform]]), got table");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\ntransform = [1]\n") + minimal_tail),
              "p.toml:2:14: 'transform[0]' must be a table, got integer");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\nplugin_path = \"/opt\"\n") + minimal_tail),
              "p.toml:2:15: 'plugin_path' must be an array of strings, got string");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\nplugin_path = [\"/opt\", 3]\n") + minimal_tail),
              "p.toml:2:24: 'plugin_path[1]' must be a string, got integer");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\nsecrets = [1]\n") + minimal_tail),
              "p.toml:2:11: 'secrets' must be a table, got array");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\nsecrets.db = 1\n") + minimal_tail),
              "p.toml:2:14: 'secrets.db' must be a table, got integer");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\nnotify = {}\n") + minimal_tail),
              "p.toml:2:10: 'notify' must be an array of tables ([[notify]]), got table");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\nretention = 7\n") + minimal_tail),
              "p.toml:2:13: 'retention' must be a table, got integer");
    EXPECT_EQ(parse_error("name = \"x\"\n[source]\nplugin = 1\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n"),
              "p.toml:3:10: source: 'plugin' must be a string, got integer");
    EXPECT_EQ(
        parse_error("name = \"x\"\n[source]\nplugin = \"source-command\"\n[sink]\nplugin = \"sink-local\"\nkey = 1\n"),
        "p.toml:6:7: sink: option 'key' must be a string, got integer");
}

TEST(PipelineSpec, InvalidValues) {
    EXPECT_EQ(parse_error(std::string("name = \"my backup\"\n") + minimal_tail),
              "p.toml:1:8: invalid pipeline name 'my backup' (use letters, digits, '_', '.' and '-')");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\ntimezone = \"Mars/Olympus\"\n") + minimal_tail),
              "p.toml:2:12: unknown timezone 'Mars/Olympus' (no file /usr/share/zoneinfo/Mars/Olympus)");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\ntimezone = \"../etc/passwd\"\n") + minimal_tail),
              "p.toml:2:12: invalid timezone name '../etc/passwd'");
    EXPECT_EQ(parse_error(std::string("name = \"x\"\n[secrets.\"my db\"]\nplugin = \"secret-file\"\n") + minimal_tail),
              "p.toml:2:10: invalid secret id 'my db' (use letters, digits, '_' and '-', not starting with a digit or "
              "'-')");
    EXPECT_EQ(
        parse_error("name = \"x\"\n[source]\nplugin = \"command\"\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n"),
        "p.toml:3:10: source: plugin 'command' is not of the form '<kind>-<name>' (lowercase letters, digits "
        "and '-', e.g. 'compress-gzip')");
    EXPECT_EQ(parse_error("name = \"x\"\n[source]\nplugin = \"Source_Command\"\n[sink]\nplugin = \"sink-local\"\n"
                          "key = \"k\"\n"),
              "p.toml:3:10: source: plugin 'Source_Command' is not of the form '<kind>-<name>' (lowercase letters, "
              "digits and '-', e.g. 'compress-gzip')");
    EXPECT_EQ(parse_error("name = \"x\"\n[source]\nplugin = \"source-command\"\n[sink]\nplugin = \"sink-local\"\n"
                          "key = \"%Y/%Z\"\n"),
              "p.toml:6:7: key template: unknown time field '%Z' (allowed: %Y %m %d %H %M %S %y %j %u %V %G %s %%)");
}

TEST(PipelineSpec, UtcTimezoneNeedsNoFile) {
    EXPECT_EQ(parse_pipeline_text(std::string("name = \"x\"\ntimezone = \"UTC\"\n") + minimal_tail, "p.toml").timezone,
              "UTC");
}

// 'timeout' and [retention] 'incomplete_after' share one range: 0 (timeout: 1 ms) to 36500d, never wrapping.
std::string timeout_error(const std::string& value) {
    return parse_error("name = \"x\"\ntimeout = " + value + "\n" + minimal_tail);
}
std::string incomplete_after_error(const std::string& value) {
    return config_error([&] {
        const PipelineSpec spec =
            parse_pipeline_text(std::string("name = \"x\"\n") + minimal_tail + "[retention]\nkeep_last = 3\n" +
                                    "incomplete_after = " + value + "\n",
                                "p.toml");
        parse_retention_policy(*spec.retention, spec.file);
    });
}

TEST(PipelineSpec, MemoryBudgetTakesSizesAndRefusesOthersAtItsValue) {
    const auto budget_of = [](const std::string& value) {
        return parse_pipeline_text("name = \"x\"\nmemory_budget = " + value + "\n" + minimal_tail, "p.toml")
            .memory_budget;
    };
    EXPECT_EQ(budget_of("\"64MiB\""), 64 << 20);
    EXPECT_EQ(budget_of("\"1 GB\""), 1'000'000'000);
    EXPECT_EQ(budget_of("1048576"), 1 << 20);
    EXPECT_FALSE(parse_pipeline_text(std::string("name = \"x\"\n") + minimal_tail, "p.toml").memory_budget);
    const auto budget_error = [](const std::string& value) {
        return parse_error("name = \"x\"\nmemory_budget = " + value + "\n" + minimal_tail);
    };
    EXPECT_EQ(budget_error("\"lots\""), "p.toml:2:17: 'memory_budget': invalid size 'lots'");
    EXPECT_EQ(budget_error("0"), "p.toml:2:17: 'memory_budget' must be greater than zero");
    EXPECT_EQ(budget_error("-5"), "p.toml:2:17: 'memory_budget': invalid size -5");
    EXPECT_EQ(budget_error("true"),
              "p.toml:2:17: 'memory_budget' must be a size (integer bytes or a string like \"40MiB\"), got boolean");
}

TEST(PipelineSpec, TimeoutAcceptsUpToTheMaximum) {
    const auto timeout_of = [](const std::string& value) {
        return parse_pipeline_text("name = \"x\"\ntimeout = " + value + "\n" + minimal_tail, "p.toml").timeout_ms;
    };
    EXPECT_EQ(timeout_of("\"36500d\""), kMaxDurationMs);
    EXPECT_EQ(timeout_of("3153600000"), kMaxDurationMs);  // integer seconds
    EXPECT_EQ(timeout_of("\"1ms\""), 1);
    EXPECT_EQ(timeout_of("\"1h30m\""), 5'400'000);
}

TEST(PipelineSpec, TimeoutOutOfRangeNamesTheMaximum) {
    EXPECT_EQ(timeout_error("\"1000000d\""),
              "p.toml:2:11: 'timeout': duration '1000000d' is above the maximum of 36500d (100 years)");
    EXPECT_EQ(timeout_error("\"36500d1ms\""),
              "p.toml:2:11: 'timeout': duration '36500d1ms' is above the maximum of 36500d (100 years)");
    EXPECT_EQ(timeout_error("\"1000000000000d\""),
              "p.toml:2:11: 'timeout': duration '1000000000000d' is above the maximum of 36500d (100 years)");
    EXPECT_EQ(timeout_error("\"9223372036854775807s\""),
              "p.toml:2:11: 'timeout': duration '9223372036854775807s' is above the maximum of 36500d (100 years)");
    EXPECT_EQ(timeout_error("\"99999999999999999999ms\""),
              "p.toml:2:11: 'timeout': duration '99999999999999999999ms' is above the maximum of 36500d (100 years)");
    EXPECT_EQ(timeout_error("3153600001"),
              "p.toml:2:11: 'timeout': duration 3153600001 is above the maximum of 36500d (100 years)");
    EXPECT_EQ(timeout_error("9223372036854775807"),
              "p.toml:2:11: 'timeout': duration 9223372036854775807 is above the maximum of 36500d (100 years)");
    EXPECT_EQ(timeout_error("-1"), "p.toml:2:11: 'timeout': invalid duration -1");
    EXPECT_EQ(timeout_error("-9223372036854775808"), "p.toml:2:11: 'timeout': invalid duration -9223372036854775808");
    EXPECT_EQ(timeout_error("\"1e3s\""), "p.toml:2:11: 'timeout': invalid duration '1e3s'");
    EXPECT_EQ(timeout_error("\"0\""), "p.toml:2:11: 'timeout': invalid duration '0'");
    EXPECT_EQ(timeout_error("0"), "p.toml:2:11: 'timeout' must be greater than zero");
    EXPECT_EQ(timeout_error("\"0s\""), "p.toml:2:11: 'timeout' must be greater than zero");
    EXPECT_EQ(timeout_error("1.5"),
              "p.toml:2:11: 'timeout' must be a duration (integer seconds or a string like \"2h\"), got float");
}

TEST(PipelineSpec, IncompleteAfterHasTheSameRange) {
    EXPECT_EQ(incomplete_after_error("\"36500d\""), "(no ConfigError)");
    EXPECT_EQ(incomplete_after_error("0"), "(no ConfigError)");
    EXPECT_EQ(incomplete_after_error("\"1000000d\""),
              "p.toml:11:20: retention: 'incomplete_after': duration '1000000d' is above the maximum of 36500d (100 "
              "years)");
    EXPECT_EQ(incomplete_after_error("9223372036854775807"),
              "p.toml:11:20: retention: 'incomplete_after': duration 9223372036854775807 is above the maximum of "
              "36500d (100 years)");
    EXPECT_EQ(incomplete_after_error("-5"), "p.toml:11:20: retention: 'incomplete_after': invalid duration -5");
}

TEST(PipelineSpec, ReadsFileAndLabelsErrorsWithItsPath) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "backhaul-config-test";
    std::filesystem::create_directories(dir);
    const std::filesystem::path good = dir / "good.toml";
    std::ofstream(good) << "name = \"x\"\n" << minimal_tail;
    EXPECT_EQ(parse_pipeline_file(good).name, "x");
    EXPECT_EQ(parse_pipeline_file(good).file, good.string());

    const std::filesystem::path bad = dir / "bad.toml";
    std::ofstream(bad) << minimal_tail;
    EXPECT_EQ(config_error([&] { parse_pipeline_file(bad); }), bad.string() + ":1:1: missing required key 'name'");

    const std::filesystem::path missing = dir / "missing.toml";
    EXPECT_EQ(config_error([&] { parse_pipeline_file(missing); }),
              missing.string() + ": cannot read: No such file or directory");
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace backhaul
