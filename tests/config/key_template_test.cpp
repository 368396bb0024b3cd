#include "config/key_template.hpp"

#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace backhaul {
namespace {

using testing::config_error;

const SourcePosition where{"p.toml", 12, 7};

std::chrono::system_clock::time_point utc_time(int year, unsigned month, unsigned day, int hour, int minute,
                                               int second) {
    using namespace std::chrono;
    return sys_days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}} + hours{hour} +
           minutes{minute} + seconds{second};
}

const auto seed_start = utc_time(2026, 11, 24, 17, 5, 9);
const std::map<std::string, std::string> seed_vars = {{"database", "app"}, {"ext", ".sql.gz"}};

std::string parse_error(std::string_view text) {
    return config_error([&] { KeyTemplate::parse(text, where); });
}

TEST(KeyTemplate, RendersSeedLayoutInUtc) {
    const KeyTemplate key = KeyTemplate::parse("%Y/%m/%d/{database}_%Y%m%d%H%M{ext}", where);
    EXPECT_EQ(key.render(seed_start, "", seed_vars), "2026/11/24/app_202611241705.sql.gz");
    EXPECT_EQ(key.render(seed_start, "UTC", seed_vars), "2026/11/24/app_202611241705.sql.gz");
}

TEST(KeyTemplate, RendersSeedLayoutInSeoulOnTheNextDay) {
    const KeyTemplate key = KeyTemplate::parse("%Y/%m/%d/{database}_%Y%m%d%H%M{ext}", where);
    EXPECT_EQ(key.render(seed_start, "Asia/Seoul", seed_vars), "2026/11/25/app_202611250205.sql.gz");
}

TEST(KeyTemplate, RendersEveryTimeField) {
    const KeyTemplate key = KeyTemplate::parse("%Y-%m-%d %H:%M:%S %y %j %u %V %G %s 100%%", where);
    EXPECT_EQ(key.render(seed_start, "", {}), "2026-11-24 17:05:09 26 328 2 48 2026 1795539909 100%");
    // 2027-01-01 is a Friday: ISO week 53 of 2026.
    EXPECT_EQ(key.render(utc_time(2027, 1, 1, 0, 0, 0), "", {}),
              "2027-01-01 00:00:00 27 001 5 53 2026 1798761600 100%");
    // 2024-12-30 is a Monday: ISO week 1 of 2025.
    EXPECT_EQ(KeyTemplate::parse("%G-W%V-%u", where).render(utc_time(2024, 12, 30, 8, 0, 0), "", {}), "2025-W01-1");
}

TEST(KeyTemplate, EpochSecondsIgnoreTimezone) {
    EXPECT_EQ(KeyTemplate::parse("%s", where).render(seed_start, "Asia/Seoul", {}), "1795539909");
}

TEST(KeyTemplate, BracesAndPercentEscapes) {
    const KeyTemplate key = KeyTemplate::parse("{{literal}}/{name}}}/%%Y", where);
    EXPECT_EQ(key.render(seed_start, "", {{"name", "n"}}), "{literal}/n}/%Y");
    EXPECT_EQ(key.variables(), std::vector<std::string>{"name"});
}

TEST(KeyTemplate, ListsVariablesOnceInOrder) {
    EXPECT_EQ(KeyTemplate::parse("{host}/{database}/{host}_{ext}", where).variables(),
              (std::vector<std::string>{"host", "database", "ext"}));
    EXPECT_TRUE(KeyTemplate::parse("%Y/backup", where).variables().empty());
}

TEST(KeyTemplate, ParseErrors) {
    EXPECT_EQ(parse_error(""), "p.toml:12:7: key template: must not be empty");
    EXPECT_EQ(parse_error("/backups/%Y"),
              "p.toml:12:7: key template: must not start with '/' (keys are relative to the sink)");
    EXPECT_EQ(parse_error("%Y/%Z"),
              "p.toml:12:7: key template: unknown time field '%Z' (allowed: %Y %m %d %H %M %S %y %j %u %V %G %s %%)");
    EXPECT_EQ(parse_error("%Y/%a"),
              "p.toml:12:7: key template: unknown time field '%a' (allowed: %Y %m %d %H %M %S %y %j %u %V %G %s %%)");
    EXPECT_EQ(parse_error("backup%"), "p.toml:12:7: key template: '%' at the end (write '%%' for a literal '%')");
    EXPECT_EQ(parse_error("{database"), "p.toml:12:7: key template: unterminated '{' (write '{{' for a literal brace)");
    EXPECT_EQ(parse_error("x}"), "p.toml:12:7: key template: unmatched '}' (write '}}' for a literal brace)");
    EXPECT_EQ(parse_error("{Database}"),
              "p.toml:12:7: key template: invalid variable name '{Database}' (use lowercase letters, digits and '_')");
    EXPECT_EQ(parse_error("{}"),
              "p.toml:12:7: key template: invalid variable name '{}' (use lowercase letters, digits and '_')");
    EXPECT_EQ(parse_error("{1db}"),
              "p.toml:12:7: key template: invalid variable name '{1db}' (use lowercase letters, digits and '_')");
    EXPECT_EQ(parse_error("%Y//x"),
              "p.toml:12:7: key template: gives an unsafe key: object key '1970//x' contains an empty path segment");
    EXPECT_EQ(parse_error("a/../{x}"),
              "p.toml:12:7: key template: gives an unsafe key: object key 'a/../x' contains a '..' path segment");
    EXPECT_EQ(parse_error("a/"),
              "p.toml:12:7: key template: gives an unsafe key: object key 'a/' contains an empty path segment");
}

TEST(KeyTemplate, MissingVariableIsNamed) {
    const KeyTemplate key = KeyTemplate::parse("{database}{ext}", where);
    try {
        key.render(seed_start, "", {{"database", "app"}});
        FAIL() << "no error";
    } catch (const std::runtime_error& error) {
        EXPECT_STREQ(error.what(),
                     "key template '{database}{ext}' uses {ext}, but no stage published the variable 'ext'");
    }
}

TEST(KeyTemplate, UnsafeVariableValuesAreRejected) {
    const KeyTemplate key = KeyTemplate::parse("backups/{database}/x", where);
    const auto render_error = [&](const std::string& value) -> std::string {
        try {
            key.render(seed_start, "", {{"database", value}});
        } catch (const std::runtime_error& error) {
            return error.what();
        }
        return "(no error)";
    };
    EXPECT_EQ(render_error(".."), "object key 'backups/../x' contains a '..' path segment");
    EXPECT_EQ(render_error("."), "object key 'backups/./x' contains a '.' path segment");
    EXPECT_EQ(render_error("../../etc"), "object key 'backups/../../etc/x' contains a '..' path segment");
    EXPECT_EQ(render_error(""), "object key 'backups//x' contains an empty path segment");
    EXPECT_EQ(render_error("a\nb"), "object key 'backups/a\\x0ab/x' contains a control character");
    EXPECT_EQ(render_error(std::string("a\0b", 3)), "object key 'backups/a\\x00b/x' contains a control character");
    EXPECT_EQ(render_error("a/b..c"), "(no error)");  // ".." inside a segment name is harmless

    const KeyTemplate leading = KeyTemplate::parse("{database}/x", where);
    EXPECT_THROW(leading.render(seed_start, "", {{"database", "/etc"}}), std::runtime_error);
}

TEST(KeyTemplate, UnknownTimezoneAtRender) {
    const KeyTemplate key = KeyTemplate::parse("%Y", where);
    EXPECT_THROW(key.render(seed_start, "Nowhere/City", {}), std::runtime_error);
}

}  // namespace
}  // namespace backhaul
