// A set's metadata (docs/sets.md): the manifest listing every object of the set (format 2) and the pending marker
// naming every object a run may write. Both are what later deletions rely on, so neither may ever name an object
// outside its own set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"

namespace backhaul {
namespace {

using ::testing::HasSubstr;

const std::string kSetKey = "cluster/2026/12/02/20261202T030000";
const std::string kSha = std::string(64, 'a');

BackupManifest set_manifest() {
    BackupManifest m;
    m.pipeline = "cluster";
    m.destination = "00112233aabbccdd";
    m.key = kSetKey;
    m.raw_bytes = 30;
    m.stored_bytes = 20;
    m.objects.push_back({"globals", kSetKey + "/globals.sql.gz", ".sql", 10, 5, kSha, {}, 0});
    m.objects.push_back({"databases/we\"ird",
                         stream_object_key(kSetKey, "databases/we\"ird", ".sql.gz"),
                         ".sql",
                         20,
                         15,
                         std::string(64, 'b'),
                         {{"database", "we\"ird"}},
                         1});
    return m;
}

std::string broken(const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json j = nlohmann::json::parse(set_manifest().to_json());
    change(j);
    try {
        BackupManifest::from_json(j.dump());
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    // Anything else (a JSON library type_error) would escape callers that report runtime_errors: a crash of list.
    return "<accepted>";
}

TEST(SetManifest, RoundTripsEveryObjectAsFormat2AndAOneStreamManifestStaysFormat1) {
    const BackupManifest m = set_manifest();
    const std::string text = m.to_json();
    EXPECT_EQ(nlohmann::json::parse(text)["format"], "backhaul-manifest/2");
    BackupManifest back = BackupManifest::from_json(text);
    ASSERT_TRUE(back.is_set());
    ASSERT_EQ(back.objects.size(), 2u);
    EXPECT_EQ(back.objects[1].stream, "databases/we\"ird");
    EXPECT_EQ(back.objects[1].key, kSetKey + "/databases/we%22ird.sql.gz");
    EXPECT_EQ(back.objects[1].stored_bytes, 15u);
    EXPECT_EQ(back.objects[1].variables.at("database"), "we\"ird");
    EXPECT_EQ(back.objects[1].restore_phase, 1);

    BackupManifest single;
    single.pipeline = "orders";
    single.key = "orders/x.gz";
    EXPECT_EQ(nlohmann::json::parse(single.to_json())["format"], "backhaul-manifest/1");
    EXPECT_FALSE(BackupManifest::from_json(single.to_json()).is_set());
}

TEST(SetManifest, RefusesObjectsOutsideItsSetAndMalformedEntries) {
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][0]["key"] = "cluster/other/globals.sql.gz"; }),
                HasSubstr("outside its set"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][0]["key"] = kSetKey; }), HasSubstr("outside its set"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][0]["key"] = kSetKey + "x/globals"; }),
                HasSubstr("outside its set"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][0]["key"] = kSetKey + "/../../etc"; }),
                HasSubstr("malformed object key"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][1]["key"] = j["objects"][0]["key"]; }), HasSubstr("twice"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][1]["stream"] = "globals"; }), HasSubstr("twice"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][0]["stream"] = "a//b"; }), HasSubstr("empty segment"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][0]["sha256"] = "ABC"; }), HasSubstr("malformed sha256"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][0]["stored_bytes"] = -1; }), HasSubstr("negative"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"] = nlohmann::json::array(); }), HasSubstr("non-empty"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j.erase("objects"); }), HasSubstr("no 'objects'"));
    // Fields of the wrong JSON type are refused as damage, never defaulted (found by fuzz_manifest_json).
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][1]["variables"] = "we\"ird"; }),
                HasSubstr("'variables' is not an object"));
    EXPECT_THAT(broken([](nlohmann::json& j) { j["objects"][1]["variables"]["database"] = 7; }),
                HasSubstr("'variables.database' is not a string"));
    EXPECT_THAT(broken([](nlohmann::json& j) {
                    j["stages"] = {{{"role", {{"x", 1}}}, {"plugin", "p"}}};
                }),
                HasSubstr("'role' is not a string"));
}

TEST(SetManifest, StreamNamesBecomeDistinctSafeKeysSegmentBySegment) {
    EXPECT_EQ(stream_object_key("s", "globals", ".sql.gz"), "s/globals.sql.gz");
    EXPECT_EQ(stream_object_key("s", "databases/Café au lait", ".dump"), "s/databases/Caf%C3%A9%20au%20lait.dump");
    EXPECT_EQ(stream_object_key("s", "databases/-x_1.a", ""), "s/databases/-x_1.a");
    // '%' itself is encoded, so an encoded-looking name cannot collide with the name it looks like.
    EXPECT_NE(stream_object_key("s", "databases/a%20b", ""), stream_object_key("s", "databases/a b", ""));
    EXPECT_EQ(stream_object_key("s", "databases/a%20b", ""), "s/databases/a%2520b");
}

TEST(SetPendingMarker, NamesEveryObjectOfTheRunAndOnlyObjectsUnderItsKey) {
    PendingMarker marker{"cluster", "00112233aabbccdd", kSetKey, 1, {kSetKey + "/globals.sql.gz"}};
    PendingMarker back = PendingMarker::from_json(marker.to_json());
    EXPECT_EQ(back.objects, marker.objects);
    // A one-stream marker has no list, as before sets.
    EXPECT_FALSE(nlohmann::json::parse(PendingMarker{"o", "d", "k", 1, {}}.to_json()).contains("objects"));
    marker.objects = {"cluster/elsewhere"};
    EXPECT_THROW(PendingMarker::from_json(marker.to_json()), std::runtime_error);
}

// A set's manifest and marker have no data object under their own key, which for a one-stream backup would make them
// orphans that retention deletes after the grace period. A set's are one backup while any object lies below the key
// (tests/ops/set_catalog_test.cpp has the rest); only a marker none of whose objects were ever written is an orphan.
TEST(SetManifest, ASetsMetadataIsAnOrphanOnlyWhenNothingLiesBelowItsKey) {
    std::vector<StoredObject> objects;
    std::map<std::string, std::string> texts;
    auto put = [&](const std::string& key, const std::string& text) {
        objects.push_back({key, static_cast<int64_t>(text.size()), 0});
        texts[key] = text;
    };
    put(manifest_key(kSetKey), set_manifest().to_json());
    objects.push_back({kSetKey + "/globals.sql.gz", 5, 0});
    const std::string other = "cluster/2026/12/03/20261203T030000";
    put(pending_key(other),
        PendingMarker{"cluster", "00112233aabbccdd", other, 1, {other + "/globals.sql.gz"}}.to_json());
    KeyTemplate t = KeyTemplate::parse("{pipeline}/%Y/%m/%d/%Y%m%dT%H%M%S", SourcePosition{"p.toml", 1, 1});
    KeyMatcher matcher(t, {{"pipeline", "cluster"}}, TimeZone::utc());
    BackupCatalog c = catalog_backups(objects, t, matcher, PipelineOwner{"cluster", "00112233aabbccdd"},
                                      [&](const std::string& key) { return texts.at(key); });
    ASSERT_EQ(c.backups.size(), 1u);
    EXPECT_EQ(c.backups[0].key, kSetKey);
    EXPECT_TRUE(c.backups[0].is_set);
    ASSERT_EQ(c.orphans.size(), 1u);
    EXPECT_EQ(c.orphans[0].key, pending_key(other));
}

}  // namespace
}  // namespace backhaul
