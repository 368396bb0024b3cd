#include "config/option_binding.hpp"

#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace backhaul {
namespace {

using testing::config_error;
using testing::FakeResolver;

const bh_option_spec command_options[] = {
    {"command", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "Command whose stdout is the backup."},
    {"restore_command", BH_OPT_STRING, 0, nullptr, nullptr, "Command that reads a backup on stdin."},
};

const char* const format_values[] = {"plain", "custom", nullptr};

// One option of every type, each with a default where the type allows one.
const bh_option_spec every_type[] = {
    {"label", BH_OPT_STRING, 0, "\"nightly\"", nullptr, "A string."},
    {"level", BH_OPT_INT, 0, "6", nullptr, "An integer."},
    {"verbose", BH_OPT_BOOL, 0, "true", nullptr, "A boolean."},
    {"part_size", BH_OPT_SIZE, 0, "\"16MiB\"", nullptr, "A size."},
    {"timeout", BH_OPT_DURATION, 0, "30", nullptr, "A duration."},
    {"format", BH_OPT_ENUM, 0, "\"plain\"", format_values, "An enum."},
    {"args", BH_OPT_LIST, 0, "[]", nullptr, "A list."},
    {"env", BH_OPT_TABLE, 0, nullptr, nullptr, "A table, no default."},
    {"password", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr, "A secret."},
};
constexpr uint32_t every_type_count = sizeof every_type / sizeof every_type[0];

// The pipeline with `body` as the options of a [[transform]] whose first option is on line 4.
PipelineSpec pipeline_with_transform(const std::string& body) {
    return parse_pipeline_text(
        "name = \"x\"\n[[transform]]\nplugin = \"compress-gzip\"\n" + body +
            "\n[source]\nplugin = \"source-command\"\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n",
        "p.toml");
}

class OptionBinding : public ::testing::Test {
  protected:
    OptionBinding() {
        resolver.environment = {{"HOST", "db.local"}, {"PART", "5MB"}};
        resolver.secrets = {{"db", {{"password", "s3cret"}}}};
    }

    BoundOptions bind_transform(const std::string& body) {
        const PipelineSpec spec = pipeline_with_transform(body);
        return bind_options(spec.transforms[0], "compress-gzip", every_type, every_type_count, resolver);
    }
    std::string error_of(const std::string& body) {
        return config_error([&] { bind_transform(body); });
    }

    FakeResolver resolver;
};

TEST_F(OptionBinding, UnknownOptionListsAllowed) {
    const PipelineSpec spec = parse_pipeline_text(R"(name = "x"
[source]
plugin = "source-command"
comand = "pg_dump app"
[sink]
plugin = "sink-local"
key = "k"
)",
                                                  "p.toml");
    // A misspelt required option is both: every problem is reported, in file order.
    EXPECT_EQ(config_error([&] { bind_options(spec.source, "source-command", command_options, 2, resolver); }),
              "p.toml:2:1: source (source-command): missing required option 'command'\n"
              "p.toml:4:1: source (source-command): unknown option 'comand' (allowed: command, restore_command)");
    EXPECT_EQ(config_error([&] { bind_options(spec.source, "source-command", nullptr, 0, resolver); }),
              "p.toml:4:1: source (source-command): unknown option 'comand' (allowed: none)");
}

TEST_F(OptionBinding, MissingRequiredPointsAtStage) {
    const bh_option_spec sink_options[] = {{"path", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "Directory."}};
    const PipelineSpec spec = parse_pipeline_text(R"(name = "x"
[source]
plugin = "source-command"

[sink]
plugin = "sink-local"
key = "k"
)",
                                                  "p.toml");
    EXPECT_EQ(config_error([&] { bind_options(spec.sinks.at(0).stage, "sink-local", sink_options, 1, resolver); }),
              "p.toml:5:1: sink (sink-local): missing required option 'path'");
}

TEST_F(OptionBinding, WrongTypes) {
    EXPECT_EQ(error_of("level = \"6\""),
              "p.toml:4:9: transform[0] (compress-gzip): option 'level' must be an integer, got string");
    EXPECT_EQ(error_of("level = 6.5"),
              "p.toml:4:9: transform[0] (compress-gzip): option 'level' must be an integer, got float");
    EXPECT_EQ(error_of("label = 1"),
              "p.toml:4:9: transform[0] (compress-gzip): option 'label' must be a string, got integer");
    EXPECT_EQ(error_of("verbose = \"yes\""),
              "p.toml:4:11: transform[0] (compress-gzip): option 'verbose' must be a boolean, got string");
    EXPECT_EQ(error_of("format = 1"),
              "p.toml:4:10: transform[0] (compress-gzip): option 'format' must be a string, got integer");
    EXPECT_EQ(error_of("args = \"-v\""),
              "p.toml:4:8: transform[0] (compress-gzip): option 'args' must be an array of strings, got string");
    EXPECT_EQ(error_of("args = [\"-v\", 2]"),
              "p.toml:4:15: transform[0] (compress-gzip): option 'args'[1] must be a string, got integer");
    EXPECT_EQ(error_of("env = [\"A=1\"]"),
              "p.toml:4:7: transform[0] (compress-gzip): option 'env' must be a table of strings, got array");
    EXPECT_EQ(error_of("env = { A = 1 }"),
              "p.toml:4:13: transform[0] (compress-gzip): option 'env'.A must be a string, got integer");
    EXPECT_EQ(error_of("part_size = 1.5"),
              "p.toml:4:13: transform[0] (compress-gzip): option 'part_size' must be a size (integer or string), got "
              "float");
    EXPECT_EQ(error_of("timeout = true"),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout' must be a duration (integer or string), got "
              "boolean");
}

TEST_F(OptionBinding, InvalidValues) {
    EXPECT_EQ(error_of("format = \"tar\""),
              "p.toml:4:10: transform[0] (compress-gzip): option 'format' must be one of plain, custom; got 'tar'");
    EXPECT_EQ(error_of("part_size = \"16 MiBs\""),
              "p.toml:4:13: transform[0] (compress-gzip): option 'part_size': invalid size '16 MiBs'");
    EXPECT_EQ(error_of("part_size = -5"),
              "p.toml:4:13: transform[0] (compress-gzip): option 'part_size': invalid size -5");
    EXPECT_EQ(error_of("timeout = \"1h 30m\""),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout': invalid duration '1h 30m'");
    EXPECT_EQ(error_of("timeout = -1"),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout': invalid duration -1");
    EXPECT_EQ(error_of("timeout = 9223372036854775807"),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout': duration 9223372036854775807 is above the "
              "maximum of 36500d (100 years)");
    EXPECT_EQ(error_of("label = \"${env:NOPE}\""),
              "p.toml:4:9: transform[0] (compress-gzip): option 'label': undefined environment variable 'NOPE'");
    EXPECT_EQ(error_of("args = [\"ok\", \"${foo}\"]"),
              "p.toml:4:15: transform[0] (compress-gzip): option 'args': unknown reference '${foo}' (expected "
              "${env:NAME} or ${secret:ID.FIELD})");
}

TEST_F(OptionBinding, DurationsAndSizesAreRangeChecked) {
    EXPECT_EQ(bind_transform("timeout = \"36500d\"").find("timeout")->num, kMaxDurationMs);
    EXPECT_EQ(bind_transform("timeout = 3153600000").find("timeout")->num, kMaxDurationMs);
    EXPECT_EQ(bind_transform("timeout = 0").find("timeout")->num, 0);
    EXPECT_EQ(error_of("timeout = 3153600001"),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout': duration 3153600001 is above the maximum "
              "of 36500d (100 years)");
    EXPECT_EQ(error_of("timeout = \"1000000d\""),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout': duration '1000000d' is above the maximum "
              "of 36500d (100 years)");
    EXPECT_EQ(error_of("timeout = \"1e3s\""),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout': invalid duration '1e3s'");
    resolver.environment["LONG"] = "9223372036854775807s";
    EXPECT_EQ(error_of("timeout = \"${env:LONG}\""),
              "p.toml:4:11: transform[0] (compress-gzip): option 'timeout': duration '9223372036854775807s' is above "
              "the maximum of 36500d (100 years)");

    EXPECT_EQ(bind_transform("part_size = 9223372036854775807").find("part_size")->num, INT64_MAX);
    EXPECT_EQ(bind_transform("part_size = \"9223372036854775807\"").find("part_size")->num, INT64_MAX);
    EXPECT_EQ(error_of("part_size = \"9223372036854775808\""),
              "p.toml:4:13: transform[0] (compress-gzip): option 'part_size': size '9223372036854775808' is above the "
              "maximum of 9223372036854775807 bytes (8 EiB)");
    EXPECT_EQ(error_of("part_size = \"8388608TiB\""),
              "p.toml:4:13: transform[0] (compress-gzip): option 'part_size': size '8388608TiB' is above the maximum "
              "of 9223372036854775807 bytes (8 EiB)");
    EXPECT_EQ(error_of("part_size = -9223372036854775808"),
              "p.toml:4:13: transform[0] (compress-gzip): option 'part_size': invalid size -9223372036854775808");
}

TEST_F(OptionBinding, TomlRejectsIntegerOverflowBeforeBinding) {
    EXPECT_EQ(error_of("level = 9223372036854775808"),
              "p.toml:4:28: Error while parsing decimal integer: '9223372036854775808' is not representable in 64 "
              "bits");
}

TEST_F(OptionBinding, DefaultsFillUnsetOptionsInTableOrder) {
    const BoundOptions bound = bind_transform("");
    ASSERT_EQ(bound.size(), every_type_count);
    const bh_option_value* values = bound.data();
    for (uint32_t i = 0; i < every_type_count; ++i) {
        EXPECT_STREQ(values[i].name, every_type[i].name);
        EXPECT_EQ(values[i].type, every_type[i].type);
    }
    EXPECT_EQ(values[0].is_set, 1);
    EXPECT_STREQ(values[0].str, "nightly");
    EXPECT_EQ(values[1].num, 6);
    EXPECT_EQ(values[2].num, 1);
    EXPECT_EQ(values[3].num, 16 * 1024 * 1024);
    EXPECT_EQ(values[4].num, 30'000);
    EXPECT_STREQ(values[5].str, "plain");
    EXPECT_EQ(values[6].is_set, 1);
    EXPECT_EQ(values[6].item_count, 0u);
    ASSERT_NE(values[6].items, nullptr);
    EXPECT_EQ(values[6].items[0], nullptr);
    EXPECT_EQ(values[7].is_set, 0);  // no default
    EXPECT_EQ(values[7].items, nullptr);
    EXPECT_EQ(values[8].is_set, 0);
    EXPECT_EQ(values[8].str, nullptr);
}

TEST_F(OptionBinding, UserValuesOfEveryType) {
    const BoundOptions bound = bind_transform(R"(label = "to ${env:HOST}"
level = -3
verbose = false
part_size = "${env:PART}"
timeout = "1h30m"
format = "custom"
args = ["-h", "${env:HOST}", "$${literal}"]
env = { B = "2", A = "${env:HOST}" }
password = "${secret:db.password}")");
    const bh_option_value* values = bound.data();
    EXPECT_STREQ(values[0].str, "to db.local");
    EXPECT_EQ(values[1].num, -3);  // ranges are the plugin's to check
    EXPECT_EQ(values[2].num, 0);
    EXPECT_EQ(values[2].is_set, 1);
    EXPECT_EQ(values[3].num, 5'000'000);
    EXPECT_EQ(values[4].num, 5'400'000);
    EXPECT_STREQ(values[5].str, "custom");
    ASSERT_EQ(values[6].item_count, 3u);
    EXPECT_STREQ(values[6].items[0], "-h");
    EXPECT_STREQ(values[6].items[1], "db.local");
    EXPECT_STREQ(values[6].items[2], "${literal}");
    ASSERT_EQ(values[7].item_count, 4u);
    EXPECT_STREQ(values[7].items[0], "A");
    EXPECT_STREQ(values[7].items[1], "db.local");
    EXPECT_STREQ(values[7].items[2], "B");
    EXPECT_STREQ(values[7].items[3], "2");
    EXPECT_STREQ(values[8].str, "s3cret");
    EXPECT_STREQ(bound.find("password")->str, "s3cret");
    EXPECT_EQ(bound.find("nope"), nullptr);
    EXPECT_TRUE(bound.warnings().empty());
}

TEST_F(OptionBinding, IntegersAndBooleansFromReferences) {
    resolver.environment = {{"PORT", "15432"}, {"NEGATIVE", "-2"}, {"ON", "yes"}, {"OFF", "false"}, {"BAD", "54x"}};
    BoundOptions bound = bind_transform("level = \"${env:PORT}\"\nverbose = \"${env:ON}\"");
    EXPECT_EQ(bound.data()[1].num, 15432);
    EXPECT_EQ(bound.data()[2].num, 1);
    bound = bind_transform("level = \"${env:NEGATIVE}\"\nverbose = \"${env:OFF}\"");
    EXPECT_EQ(bound.data()[1].num, -2);
    EXPECT_EQ(bound.data()[2].num, 0);
    EXPECT_EQ(error_of("level = \"${env:BAD}\""),
              "p.toml:4:9: transform[0] (compress-gzip): option 'level': invalid integer '54x'");
    EXPECT_EQ(error_of("level = \"1${env:PORT}0000000000000000\""),
              "p.toml:4:9: transform[0] (compress-gzip): option 'level': invalid integer '1154320000000000000000'");
    EXPECT_EQ(error_of("verbose = \"${env:BAD}\""),
              "p.toml:4:11: transform[0] (compress-gzip): option 'verbose': invalid boolean '54x'");
    // A reference to a secret that validate mode has not fetched is checked when it is.
    resolver.fetched = false;
    EXPECT_EQ(bind_transform("level = \"${secret:db.password}\"").data()[1].num, 0);
}

// source-command's shape: options that become a child's argv, and `env`, which is where a secret may go instead.
const bh_option_spec argv_options[] = {
    {"command", BH_OPT_LIST, BH_OPT_REQUIRED | BH_OPT_ARGV, nullptr, nullptr, "Program and arguments."},
    {"program", BH_OPT_STRING, BH_OPT_ARGV, nullptr, nullptr, "A program."},
    {"flags", BH_OPT_TABLE, BH_OPT_ARGV, nullptr, nullptr, "Flags as --key=value."},
    {"env", BH_OPT_TABLE, 0, nullptr, nullptr, "Environment of the child."},
    {"label", BH_OPT_STRING, 0, nullptr, nullptr, "Not on a command line."},
};

class ArgvOptions : public OptionBinding {
  protected:
    // The source's options start on line 4.
    std::string argv_error(const std::string& body, const bh_option_spec* specs = argv_options, uint32_t count = 5) {
        return config_error([&] { bind_source(body, specs, count); });
    }
    BoundOptions bind_source(const std::string& body, const bh_option_spec* specs = argv_options, uint32_t count = 5) {
        const PipelineSpec spec = parse_pipeline_text("name = \"x\"\n[source]\nplugin = \"source-command\"\n" + body +
                                                          "\n[sink]\nplugin = \"sink-local\"\nkey = \"k\"\n",
                                                      "p.toml");
        return bind_options(spec.source, "source-command", specs, count, resolver);
    }
};

TEST_F(ArgvOptions, SecretInAnArgvOptionIsRefusedPointingToEnv) {
    const std::string refusal =
        " would put a ${secret:...} value on a command line, which every local user can read; pass the secret through "
        "option 'env' instead";
    for (const bool fetched : {true, false}) {  // run and validate refuse it alike
        resolver.fetched = fetched;
        EXPECT_EQ(argv_error("command = [\"pg_dump\", \"--password=${secret:db.password}\"]"),
                  "p.toml:4:23: source (source-command): option 'command'[1]" + refusal);
        EXPECT_EQ(argv_error("command = [\"true\"]\nprogram = \"${secret:db.password}\""),
                  "p.toml:5:11: source (source-command): option 'program'" + refusal);
        EXPECT_EQ(argv_error("command = [\"true\"]\nflags = { password = \"x${secret:db.password}\" }"),
                  "p.toml:5:22: source (source-command): option 'flags'.password" + refusal);
    }
}

TEST_F(ArgvOptions, EnvReferencesAndSecretsInEnvStayAllowed) {
    const BoundOptions bound = bind_source(
        "command = [\"psql\", \"--host=${env:HOST}\"]\nenv = { PGPASSWORD = \"${secret:db.password}\" }\n"
        "label = \"${secret:db.password}\"");
    EXPECT_STREQ(bound.find("command")->items[1], "--host=db.local");
    EXPECT_STREQ(bound.find("env")->items[1], "s3cret");
    // `$${` is a literal "${", not a reference.
    EXPECT_STREQ(bind_source("command = [\"echo\", \"$${secret:db.password}\"]").find("command")->items[1],
                 "${secret:db.password}");
}

TEST_F(ArgvOptions, HintNamesWhereThePluginTakesSecrets) {
    const bh_option_spec postgres_like[] = {
        {"extra_args", BH_OPT_LIST, BH_OPT_ARGV, "[]", nullptr, "More flags."},
        {"password", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr, "Given to the child as PGPASSWORD."},
    };
    EXPECT_EQ(argv_error("extra_args = [\"${secret:db.password}\"]", postgres_like, 2),
              "p.toml:4:15: source (source-command): option 'extra_args'[0] would put a ${secret:...} value on a "
              "command line, which every local user can read; pass the secret through option 'password' instead");
    const bh_option_spec argv_only[] = {{"command", BH_OPT_LIST, BH_OPT_ARGV, nullptr, nullptr, "Argv."}};
    EXPECT_EQ(argv_error("command = [\"${secret:db.password}\"]", argv_only, 1),
              "p.toml:4:12: source (source-command): option 'command'[0] would put a ${secret:...} value on a "
              "command line, which every local user can read; this plugin has no option that keeps a secret off the "
              "command line");
}

TEST_F(OptionBinding, PointersSurviveMove) {
    BoundOptions bound = bind_transform("label = \"x\"\nargs = [\"a\"]");
    const char* label = bound.data()[0].str;
    BoundOptions moved = std::move(bound);
    EXPECT_EQ(moved.data()[0].str, label);
    EXPECT_STREQ(moved.data()[0].str, "x");
    EXPECT_STREQ(moved.data()[6].items[0], "a");
}

TEST_F(OptionBinding, DisplayRedactsSecrets) {
    const BoundOptions bound = bind_transform(R"(label = "pw ${secret:db.password}"
args = ["a", "b"]
env = { K = "v", J = "w" }
password = "hunter2")");
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"label", "<redacted>"},  // not a secret option, but built from a secret
        {"level", "6"},          {"verbose", "true"}, {"part_size", "16777216"}, {"timeout", "30000ms"},
        {"format", "plain"},     {"args", "[a, b]"},  {"env", "{J=w, K=v}"},     {"password", "<redacted>"},
    };
    EXPECT_EQ(bound.display(), expected);
    EXPECT_EQ(bound.secret_values(), (std::vector<std::string>{"pw s3cret", "hunter2"}));
    EXPECT_EQ(bound.warnings(),
              std::vector<std::string>{"p.toml:7:1: transform[0] (compress-gzip): option 'password' holds a literal "
                                       "secret; prefer ${env:...} or ${secret:...}"});
}

TEST_F(OptionBinding, ValidateModeSkipsChecksThatNeedTheSecret) {
    resolver.fetched = false;
    const BoundOptions bound = bind_transform(R"(part_size = "${secret:db.password}"
format = "${secret:db.password}"
password = "${secret:db.password}")");
    EXPECT_EQ(bound.data()[3].num, 0);
    EXPECT_STREQ(bound.data()[5].str, "<secret:db.password>");
    EXPECT_STREQ(bound.data()[8].str, "<secret:db.password>");
    EXPECT_TRUE(bound.secret_values().empty());
    EXPECT_EQ(bound.display().back(), (std::pair<std::string, std::string>{"password", "<redacted>"}));
}

TEST(ParseSize, AcceptedForms) {
    EXPECT_EQ(parse_size("0"), 0);
    EXPECT_EQ(parse_size("10"), 10);
    EXPECT_EQ(parse_size("10B"), 10);
    EXPECT_EQ(parse_size(" 7 "), 7);
    EXPECT_EQ(parse_size("512k"), 512 * 1024);
    EXPECT_EQ(parse_size("1K"), 1024);
    EXPECT_EQ(parse_size("1KiB"), 1024);
    EXPECT_EQ(parse_size("16MiB"), 16 * 1024 * 1024);
    EXPECT_EQ(parse_size("16 MiB"), 16 * 1024 * 1024);
    EXPECT_EQ(parse_size("3M"), 3 * 1024 * 1024);
    EXPECT_EQ(parse_size("1G"), int64_t(1) << 30);
    EXPECT_EQ(parse_size("2GiB"), int64_t(2) << 30);
    EXPECT_EQ(parse_size("2T"), int64_t(2) << 40);
    EXPECT_EQ(parse_size("1TiB"), int64_t(1) << 40);
    EXPECT_EQ(parse_size("1kB"), 1000);
    EXPECT_EQ(parse_size("1KB"), 1000);
    EXPECT_EQ(parse_size("5MB"), 5'000'000);
    EXPECT_EQ(parse_size("5 GB"), 5'000'000'000);
    EXPECT_EQ(parse_size("3TB"), 3'000'000'000'000);
}

TEST(ParseSize, RejectedForms) {
    for (const char* text : {"", "MiB", "16 MiBs", "-5", "1.5GiB", "16 mib", "16m", "0x10", "1 2", "16MiB ", "k16",
                             "99999999999999999999", "9000000T"}) {
        if (std::string_view(text) == "16MiB ") continue;  // trailing spaces are trimmed, see below
        EXPECT_EQ(parse_size(text), std::nullopt) << text;
    }
    EXPECT_EQ(parse_size("16MiB "), 16 * 1024 * 1024);
}

TEST(ParseDuration, AcceptedForms) {
    EXPECT_EQ(parse_duration("500ms"), 500);
    EXPECT_EQ(parse_duration("30s"), 30'000);
    EXPECT_EQ(parse_duration("5m"), 300'000);
    EXPECT_EQ(parse_duration("2h"), 7'200'000);
    EXPECT_EQ(parse_duration("1d"), 86'400'000);
    EXPECT_EQ(parse_duration("1h30m"), 5'400'000);
    EXPECT_EQ(parse_duration("1d1h1m1s1ms"), 90'061'001);
    EXPECT_EQ(parse_duration("0s"), 0);
}

TEST(ParseDuration, RejectedForms) {
    for (const char* text :
         {"", "30", "s", "1h 30m", "5x", "-5s", "1.5h", "5S", "1h30", "106751991167301d", "1e3s", "1000000d"}) {
        EXPECT_EQ(parse_duration(text), std::nullopt) << text;
    }
}

// "ok <value>", "too large" or "malformed": what parse_size or parse_duration made of `text`.
std::string outcome_of(std::optional<int64_t> (*parse)(std::string_view, QuantityProblem*), std::string_view text) {
    QuantityProblem problem = QuantityProblem::malformed;
    const std::optional<int64_t> value = parse(text, &problem);
    if (value) return "ok " + std::to_string(*value);
    return problem == QuantityProblem::too_large ? "too large" : "malformed";
}

// What a refusal was, at the boundaries: the maximum itself passes, one millisecond more is too large, and an overflow
// of int64 anywhere (digits, unit, sum) is reported as too large, never wrapped into a small or negative value.
TEST(ParseDuration, Boundaries) {
    const auto problem_of = [](std::string_view text) { return outcome_of(parse_duration, text); };
    EXPECT_EQ(problem_of("36500d"), "ok " + std::to_string(kMaxDurationMs));
    EXPECT_EQ(problem_of("3153600000000ms"), "ok " + std::to_string(kMaxDurationMs));
    EXPECT_EQ(problem_of("36499d23h59m59s1000ms"), "ok " + std::to_string(kMaxDurationMs));
    EXPECT_EQ(problem_of("3153600000001ms"), "too large");
    EXPECT_EQ(problem_of("36500d1ms"), "too large");
    EXPECT_EQ(problem_of("1000000d"), "too large");               // 8.64e13 ms: fits int64, not the range
    EXPECT_EQ(problem_of("106751991167301d"), "too large");       // days * 86400000 overflows int64
    EXPECT_EQ(problem_of("9223372036854775807ms"), "too large");  // INT64_MAX itself
    EXPECT_EQ(problem_of("9223372036854775807s"), "too large");
    EXPECT_EQ(problem_of("9223372036854775808ms"), "too large");    // INT64_MAX + 1: the digits overflow
    EXPECT_EQ(problem_of("36500d36500d"), "too large");             // the sum
    EXPECT_EQ(problem_of("99999999999999999999d5x"), "malformed");  // a bad unit wins over an overflow
    EXPECT_EQ(problem_of("1e3s"), "malformed");
    EXPECT_EQ(problem_of("-1s"), "malformed");
    EXPECT_EQ(problem_of("0ms"), "ok 0");
}

TEST(ParseSize, Boundaries) {
    const auto problem_of = [](std::string_view text) { return outcome_of(parse_size, text); };
    EXPECT_EQ(problem_of("9223372036854775807"), "ok 9223372036854775807");
    EXPECT_EQ(problem_of("9223372036854775807B"), "ok 9223372036854775807");
    EXPECT_EQ(problem_of("8388607TiB"), "ok " + std::to_string(int64_t{8388607} << 40));
    EXPECT_EQ(problem_of("9223372036854775808"), "too large");
    EXPECT_EQ(problem_of("8388608TiB"), "too large");  // 2^63
    EXPECT_EQ(problem_of("9223372036854775807k"), "too large");
    EXPECT_EQ(problem_of("99999999999999999999XB"), "malformed");
    EXPECT_EQ(problem_of("1e3"), "malformed");
    EXPECT_EQ(problem_of("-1"), "malformed");
}

TEST(OptionDefaults, MalformedDefaultIsAPluginBug) {
    const auto error_of = [](const bh_option_spec& spec) -> std::string {
        const PipelineSpec pipeline = pipeline_with_transform("");
        const ProcessEnvResolver resolver;
        try {
            bind_options(pipeline.transforms[0], "compress-gzip", &spec, 1, resolver);
        } catch (const std::logic_error& error) {
            return error.what();
        }
        return "(no error)";
    };
    EXPECT_EQ(error_of({"level", BH_OPT_INT, 0, "\"six\"", nullptr, ""}),
              "plugin 'compress-gzip': invalid default for option 'level' (\"six\"): default must be an integer, got "
              "string");
    EXPECT_EQ(error_of({"format", BH_OPT_ENUM, 0, "\"tar\"", format_values, ""}),
              "plugin 'compress-gzip': invalid default for option 'format' (\"tar\"): default must be one of plain, "
              "custom; got 'tar'");
    EXPECT_EQ(
        error_of({"part_size", BH_OPT_SIZE, 0, "\"lots\"", nullptr, ""}),
        "plugin 'compress-gzip': invalid default for option 'part_size' (\"lots\"): default: invalid size 'lots'");
    EXPECT_EQ(error_of({"level", BH_OPT_INT, 0, "six", nullptr, ""})
                  .rfind("plugin 'compress-gzip': invalid default for option 'level' (six): ", 0),
              0u);
    EXPECT_EQ(error_of({"format", BH_OPT_ENUM, 0, nullptr, nullptr, ""}),
              "plugin 'compress-gzip': enum option 'format' has no values");
}

TEST(OptionDefaults, RequiredIgnoresDefault) {
    const bh_option_spec spec = {"path", BH_OPT_STRING, BH_OPT_REQUIRED, "\"/tmp\"", nullptr, ""};
    const PipelineSpec pipeline = pipeline_with_transform("");
    EXPECT_EQ(
        config_error([&] { bind_options(pipeline.transforms[0], "compress-gzip", &spec, 1, ProcessEnvResolver()); }),
        "p.toml:2:1: transform[0] (compress-gzip): missing required option 'path'");
}

const bh_option_spec restore_options[] = {
    {"target_database", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "Database to restore into."},
    {"jobs", BH_OPT_INT, 0, "1", nullptr, "Parallel jobs."},
    {"clean", BH_OPT_BOOL, 0, "false", nullptr, "Drop objects first."},
    {"timeout", BH_OPT_DURATION, 0, nullptr, nullptr, "Give up after."},
    {"format", BH_OPT_ENUM, 0, nullptr, format_values, "Dump format."},
    {"schema", BH_OPT_LIST, 0, nullptr, nullptr, "Schemas."},
    {"set", BH_OPT_TABLE, 0, nullptr, nullptr, "Settings."},
};
constexpr uint32_t restore_option_count = sizeof restore_options / sizeof restore_options[0];

std::string cli_error(const std::vector<std::pair<std::string, std::optional<std::string>>>& flags) {
    try {
        bind_cli_options(flags, "source-postgres", restore_options, restore_option_count);
    } catch (const UsageError& error) {
        return error.what();
    }
    return "(no UsageError)";
}

TEST(CliOptions, ConvertsFlags) {
    const BoundOptions bound = bind_cli_options({{"--target-database", "app_copy"},
                                                 {"jobs", "4"},
                                                 {"--clean", std::nullopt},
                                                 {"--timeout", "2m"},
                                                 {"--format", "custom"},
                                                 {"--schema", "public"},
                                                 {"--schema", "audit"},
                                                 {"--set", "a=1"},
                                                 {"--set", "b=x=y"}},
                                                "source-postgres", restore_options, restore_option_count);
    const bh_option_value* values = bound.data();
    EXPECT_STREQ(values[0].str, "app_copy");
    EXPECT_EQ(values[1].num, 4);
    EXPECT_EQ(values[2].num, 1);
    EXPECT_EQ(values[3].num, 120'000);
    EXPECT_STREQ(values[4].str, "custom");
    ASSERT_EQ(values[5].item_count, 2u);
    EXPECT_STREQ(values[5].items[1], "audit");
    ASSERT_EQ(values[6].item_count, 4u);
    EXPECT_STREQ(values[6].items[2], "b");
    EXPECT_STREQ(values[6].items[3], "x=y");
}

TEST(CliOptions, DefaultsAndBooleans) {
    const BoundOptions bound = bind_cli_options({{"--target-database", "x"}, {"--clean", "no"}}, "source-postgres",
                                                restore_options, restore_option_count);
    EXPECT_EQ(bound.data()[1].num, 1);
    EXPECT_EQ(bound.data()[2].num, 0);
    EXPECT_EQ(bound.data()[3].is_set, 0);
}

TEST(CliOptions, Errors) {
    EXPECT_EQ(cli_error({{"--target-db", "x"}}),
              "unknown restore option '--target-db' for source-postgres (allowed: --target-database, --jobs, --clean, "
              "--timeout, --format, --schema, --set)");
    EXPECT_EQ(cli_error({{"--jobs", "2"}}), "missing required restore option '--target-database' for source-postgres");
    EXPECT_EQ(cli_error({{"--target-database", std::nullopt}}), "restore option '--target-database': needs a value");
    EXPECT_EQ(cli_error({{"--target-database", "x"}, {"--target-database", "y"}}),
              "restore option '--target-database': given more than once");
    EXPECT_EQ(cli_error({{"--target-database", "x"}, {"--jobs", "many"}}),
              "restore option '--jobs': invalid integer 'many'");
    EXPECT_EQ(cli_error({{"--target-database", "x"}, {"--clean", "maybe"}}),
              "restore option '--clean': must be true or false, got 'maybe'");
    EXPECT_EQ(cli_error({{"--target-database", "x"}, {"--timeout", "soon"}}),
              "restore option '--timeout': invalid duration 'soon'");
    EXPECT_EQ(cli_error({{"--target-database", "x"}, {"--format", "tar"}}),
              "restore option '--format' must be one of plain, custom; got 'tar'");
    EXPECT_EQ(cli_error({{"--target-database", "x"}, {"--set", "novalue"}}),
              "restore option '--set': must be KEY=VALUE, got 'novalue'");
}

}  // namespace
}  // namespace backhaul

namespace backhaul {
namespace {

using testing::config_error;
using testing::FakeResolver;

const bh_option_limits every_type_limits[] = {
    {"label", BH_LIMIT_MIN | BH_LIMIT_MAX, 1, 8},
    {"level", BH_LIMIT_MIN | BH_LIMIT_MAX, 1, 9},
    {"part_size", BH_LIMIT_MIN | BH_LIMIT_MAX, int64_t{5} << 20, int64_t{5} << 30},
    {"timeout", BH_LIMIT_MIN, 1000, 0},
    {"args", BH_LIMIT_MAX, 0, 2},
    {"env", BH_LIMIT_MIN, 1, 0},
    {"password", BH_LIMIT_MIN, 12, 0},
};

class OptionLimits : public ::testing::Test {
  protected:
    OptionLimits() { resolver.secrets = {{"db", {{"password", "short"}}}}; }
    std::string error_of(const std::string& body) {
        return config_error([&] {
            const PipelineSpec spec = pipeline_with_transform(body);
            bind_options(spec.transforms[0], "compress-gzip", every_type, every_type_count, resolver,
                         every_type_limits);
        });
    }
    FakeResolver resolver;
};

TEST_F(OptionLimits, EachTypeSaysItsLimitInTheUnitsPeopleWrite) {
    const std::string stage = "transform[0] (compress-gzip): option ";
    EXPECT_EQ(error_of("level = 12"), "p.toml:4:9: " + stage + "'level': must be between 1 and 9, got 12");
    EXPECT_EQ(error_of("part_size = \"1MiB\""),
              "p.toml:4:13: " + stage + "'part_size': must be between 5MiB and 5GiB, got 1MiB");
    EXPECT_EQ(error_of("part_size = 5000000"),
              "p.toml:4:13: " + stage + "'part_size': must be between 5MiB and 5GiB, got 5MB");
    EXPECT_EQ(error_of("timeout = \"500ms\""), "p.toml:4:11: " + stage + "'timeout': must be at least 1s, got 500ms");
    EXPECT_EQ(error_of("label = \"\""), "p.toml:4:9: " + stage + "'label': must not be empty");
    EXPECT_EQ(error_of("label = \"far too long\""),
              "p.toml:4:9: " + stage + "'label': must be between 1 and 8 characters long, got 12 characters");
    EXPECT_EQ(error_of("args = [\"a\", \"b\", \"c\"]"),
              "p.toml:4:8: " + stage + "'args': must have at most 2 entries, got 3 entries");
    EXPECT_EQ(error_of("env = {}"), "p.toml:4:7: " + stage + "'env': must not be empty");
    EXPECT_EQ(error_of("level = 5\npart_size = \"5MiB\"\ntimeout = 1\nlabel = \"ok\"\nargs = []\nenv = { A = \"b\" }"),
              "(no ConfigError)");
}

TEST_F(OptionLimits, EveryOptionOfAStageIsReported) {
    EXPECT_EQ(error_of("level = 0\nlabel = \"\"\nbogus = 1"),
              "p.toml:4:9: transform[0] (compress-gzip): option 'level': must be between 1 and 9, got 0\n"
              "p.toml:5:9: transform[0] (compress-gzip): option 'label': must not be empty\n"
              "p.toml:6:1: transform[0] (compress-gzip): unknown option 'bogus' (allowed: label, level, verbose, "
              "part_size, timeout, format, args, env, password)");
}

// An unfetched secret's value is unknown in validate: its limit is checked when a run has it.
TEST_F(OptionLimits, AValueFromASecretIsCheckedOnceFetched) {
    resolver.fetched = false;
    EXPECT_EQ(error_of("password = \"${secret:db.password}\""), "(no ConfigError)");
    resolver.fetched = true;
    EXPECT_EQ(error_of("password = \"${secret:db.password}\""),
              "p.toml:4:12: transform[0] (compress-gzip): option 'password': must be at least 12 characters long, "
              "got 5 characters");
}

TEST_F(OptionLimits, ValidateValuesMarkUnfetchedSecretsDeferred) {
    resolver.fetched = false;
    const PipelineSpec spec = pipeline_with_transform("password = \"${secret:db.password}\"\nlabel = \"x\"");
    const BoundOptions bound =
        bind_options(spec.transforms[0], "compress-gzip", every_type, every_type_count, resolver, every_type_limits);
    const std::vector<bh_option_value> values = bound.validate_values();
    ASSERT_EQ(values.size(), every_type_count);
    const bh_option_value& password = values[8];
    EXPECT_STREQ(password.name, "password");
    EXPECT_EQ(password.is_set, BH_VALUE_DEFERRED);
    EXPECT_EQ(password.str, nullptr);
    EXPECT_EQ(password.num, 0);
    EXPECT_EQ(values[0].is_set, BH_VALUE_SET);
    EXPECT_STREQ(values[0].str, "x");
}

TEST(LimitText, SaysRangesAsDescribeShowsThem) {
    EXPECT_EQ(limit_text(BH_OPT_INT, {"x", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, 9}), "between 0 and 9");
    EXPECT_EQ(limit_text(BH_OPT_SIZE, {"x", BH_LIMIT_MIN, int64_t{5} << 20, 0}), "at least 5MiB");
    EXPECT_EQ(limit_text(BH_OPT_DURATION, {"x", BH_LIMIT_MAX, 0, 90'000}), "at most 90s");
    EXPECT_EQ(limit_text(BH_OPT_STRING, {"x", BH_LIMIT_MIN, 1, 0}), "not empty");
    EXPECT_EQ(limit_text(BH_OPT_STRING, {"x", BH_LIMIT_MAX, 0, 63}), "at most 63 characters long");
    EXPECT_EQ(limit_text(BH_OPT_LIST, {"x", BH_LIMIT_MIN, 2, 0}), "at least 2 entries");
}

}  // namespace
}  // namespace backhaul
