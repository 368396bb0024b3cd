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
    EXPECT_EQ(matched_time(m, "2025/03/10/other_20250310120304.gz"), "no match");          // another pipeline
    EXPECT_EQ(matched_time(m, "2025/03/10/orders_20251310120304.gz"), "no match");         // month 13
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

TEST(BackupCatalog, NewestFirstWithManifestsAsCompletenessAndForeignKeysIgnored) {
    auto m = matcher("{pipeline}/%Y%m%d{ext}");
    std::vector<StoredObject> listing = {
        {"orders/20250308.gz", 10, 0},
        {"orders/20250308.gz.manifest.json", 1, 0},
        {"orders/20250310.gz", 30, 0},  // newest, no manifest: incomplete
        {"orders/20250309.gz", 20, 0},
        {"orders/20250309.gz.manifest.json", 1, 0},
        {"orders/20250301.gz.manifest.json", 1, 0},  // its data is gone
        {"orders/notes.txt", 5, 0},                  // not ours
    };
    BackupCatalog catalog = catalog_backups(listing, m);
    ASSERT_EQ(catalog.backups.size(), 3u);
    EXPECT_EQ(catalog.backups[0].key, "orders/20250310.gz");
    EXPECT_FALSE(catalog.backups[0].complete);
    EXPECT_EQ(catalog.backups[1].key, "orders/20250309.gz");
    EXPECT_TRUE(catalog.backups[1].complete);
    EXPECT_EQ(catalog.backups[1].stored_bytes, 20);
    EXPECT_EQ(catalog.backups[2].key, "orders/20250308.gz");
    EXPECT_THAT(catalog.orphan_manifests, ::testing::ElementsAre("orders/20250301.gz.manifest.json"));
}

}  // namespace
}  // namespace backhaul
