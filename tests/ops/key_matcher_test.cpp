// KeyMatcher: which keys a pipeline's key template could have produced, and the backup time they encode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/key_template.hpp"
#include "engine/backup_catalog.hpp"

namespace backhaul {
namespace {

using namespace std::chrono;

KeyMatcher matcher(const std::string& text, const std::string& zone = "UTC") {
    return KeyMatcher(KeyTemplate::parse(text, SourcePosition{"p.toml", 1, 1}), {{"pipeline", "orders"}},
                      TimeZone::load(zone));
}

std::string matched_time(const KeyMatcher& m, const std::string& key) {
    auto match = m.match(key);
    if (!match) return "no match";
    if (!match->time) return "no time";
    auto seconds = duration_cast<std::chrono::seconds>(match->time->time_since_epoch()).count();
    return std::to_string(seconds);
}

TEST(KeyMatcher, RecoversTheStartTimeFromTheTimeFields) {
    auto m = matcher("%Y/%m/%d/{pipeline}_%Y%m%d%H%M%S{ext}");
    EXPECT_EQ(m.prefix(), "");
    EXPECT_EQ(matched_time(m, "2025/03/10/orders_20250310120304.sql.gz"), "1741608184");  // 2025-03-10T12:03:04Z
    EXPECT_EQ(matched_time(m, "2025/03/10/orders_20250310120304"), "1741608184");         // {ext} may be empty
    EXPECT_EQ(matched_time(m, "2025/03/10/other_20250310120304.gz"), "no match");         // another pipeline
    EXPECT_EQ(matched_time(m, "2025/03/10/orders_20251310120304.gz"), "no match");        // month 13
    EXPECT_EQ(matched_time(m, "2025/03/10/orders_20250310120304.gz/x"), "no match");
}

TEST(KeyMatcher, LiteralPrefixIncludesKnownVariables) {
    auto m = matcher("{pipeline}/%Y-%m-%d_%H%M{ext}");
    EXPECT_EQ(m.prefix(), "orders/");
    EXPECT_EQ(matched_time(m, "orders/2025-03-10_0300.gz"), "1741575600");
}

TEST(KeyMatcher, UsesThePipelineTimeZone) {
    // 03:00 in Seoul is 18:00 UTC the day before.
    auto m = matcher("{pipeline}/%Y%m%d-%H%M", "Asia/Seoul");
    EXPECT_EQ(matched_time(m, "orders/20250310-0300"), "1741543200");  // 2025-03-09T18:00:00Z
}

TEST(KeyMatcher, UnixSecondsAndIsoWeekDates) {
    EXPECT_EQ(matched_time(matcher("{pipeline}/%s"), "orders/1741608184"), "1741608184");
    // ISO 2025-W11 day 1 is Monday 2025-03-10.
    EXPECT_EQ(matched_time(matcher("{pipeline}/%G-W%V-%u"), "orders/2025-W11-1"), "1741564800");
}

TEST(KeyMatcher, KeysWithoutADateMatchWithoutTime) {
    auto m = matcher("{pipeline}/{database}{ext}");
    EXPECT_EQ(matched_time(m, "orders/shop.sql.gz"), "no time");
    EXPECT_EQ(matched_time(m, "orders/a/b.gz"), "no match");
    EXPECT_EQ(matched_time(m, "orders/"), "no match");
}

TEST(KeyMatcher, RegexCharactersInTheTemplateAreLiteral) {
    auto m = matcher("{pipeline}/(db)+[1].%Y");
    EXPECT_EQ(matched_time(m, "orders/(db)+[1].2025"), "1735689600");
    EXPECT_EQ(matched_time(m, "orders/dbbb1x2025"), "no match");
}

TEST(KeyMatcher, TimesOutsideWhatTheClockHoldsAreNotOurs) {
    // system_clock counts nanoseconds: year 9999 or a huge %s would overflow it, so such keys cannot be ours.
    EXPECT_EQ(matched_time(matcher("{pipeline}/%Y%m%d"), "orders/99991231"), "no match");
    EXPECT_EQ(matched_time(matcher("{pipeline}/%s"), "orders/99999999999999999"), "no match");
    EXPECT_EQ(matched_time(matcher("{pipeline}/%s"), "orders/1741608184"), "1741608184");
}

}  // namespace
}  // namespace backhaul
