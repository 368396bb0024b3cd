// Sets in the catalog and in retention (docs/sets.md): a set is one backup, complete only when every object its
// manifest lists is there at its size; what deleting it removes is exactly its listed objects that exist, then its
// own metadata; objects below its key that its metadata does not name are reported and never deleted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/retention_plan.hpp"

namespace backhaul {
namespace {

using namespace std::chrono;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const PipelineOwner kOwner{"cluster", "00112233aabbccdd"};
constexpr const char* kTemplate = "{pipeline}/%Y/%m/%d/%Y%m%dT%H%M%S";

std::string set_key(int day) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "cluster/2026/11/%02d/202611%02dT030000", day, day);
    return buf;
}

std::string sha(char c) { return std::string(64, c); }

// A set manifest of `pipeline` for `key` listing `streams` (name -> stored size); raw sizes are twice the stored.
BackupManifest set_manifest(const std::string& key, const std::vector<std::pair<std::string, uint64_t>>& streams,
                            const std::string& pipeline = kOwner.pipeline) {
    BackupManifest m;
    m.pipeline = pipeline;
    m.destination = kOwner.destination;
    m.key = key;
    for (const auto& [stream, size] : streams) {
        m.objects.push_back(
            {stream, stream_object_key(key, stream, ".sql.gz"), ".sql", 2 * size, size, sha('a'), {}, 0});
        m.raw_bytes += 2 * size;
        m.stored_bytes += size;
    }
    return m;
}

std::string object_key(const std::string& key, const std::string& stream) {
    return stream_object_key(key, stream, ".sql.gz");
}

struct Listing {
    std::vector<StoredObject> objects;
    std::map<std::string, std::string> texts;

    void object(const std::string& key, int64_t size) { objects.push_back({key, size, 0}); }
    void metadata(const std::string& key, const std::string& text) {
        objects.push_back({key, static_cast<int64_t>(text.size()), 0});
        texts[key] = text;
    }
    // The manifest and, unless `skip` names them, its objects at their recorded sizes.
    void set(const BackupManifest& m, const std::set<std::string>& skip = {}) {
        metadata(manifest_key(m.key), m.to_json());
        for (const ManifestObject& o : m.objects)
            if (!skip.count(o.stream)) object(o.key, static_cast<int64_t>(o.stored_bytes));
    }
    void marker(const std::string& key, const std::vector<std::string>& object_keys,
                const std::string& pipeline = kOwner.pipeline) {
        metadata(pending_key(key), PendingMarker{pipeline, kOwner.destination, key, 0, object_keys}.to_json());
    }
    BackupCatalog catalog() const {
        KeyTemplate t = KeyTemplate::parse(kTemplate, SourcePosition{"p.toml", 1, 1});
        KeyMatcher m(t, {{"pipeline", kOwner.pipeline}}, TimeZone::utc());
        return catalog_backups(objects, t, m, kOwner, [this](const std::string& key) {
            auto it = texts.find(key);
            if (it == texts.end()) throw std::runtime_error("not found");
            return it->second;
        });
    }
};

BackupEntry only(const BackupCatalog& c) {
    EXPECT_EQ(c.backups.size(), 1u);
    return c.backups.empty() ? BackupEntry{} : c.backups[0];
}

// ---- The catalog
// ------------------------------------------------------------------------------------------------------

TEST(SetCatalog, ACompleteSetIsOneBackupOfItsObjectsWithTheManifestsTotals) {
    Listing l;
    const std::string key = set_key(2);
    l.set(set_manifest(key, {{"globals", 5}, {"databases/orders", 15}}));
    BackupCatalog c = l.catalog();
    const BackupEntry& b = only(c);
    EXPECT_EQ(b.key, key);
    EXPECT_TRUE(b.is_set);
    EXPECT_EQ(b.status, BackupStatus::complete) << b.note;
    EXPECT_EQ(b.note, "");
    EXPECT_EQ(b.stored_bytes, 20);
    EXPECT_EQ(b.raw_bytes, 40u);
    EXPECT_EQ(b.time, sys_days(2026y / 11 / 2) + hours(3));
    EXPECT_THAT(b.object_keys, ElementsAre(key + "/globals.sql.gz", key + "/databases/orders.sql.gz"));
    EXPECT_THAT(b.metadata_keys, ElementsAre(manifest_key(key)));
    EXPECT_EQ(set_summary(b), "set of 2 streams");
    ASSERT_EQ(b.members.size(), 2u);
    EXPECT_EQ(b.members[1].stream, "databases/orders");
    EXPECT_EQ(b.members[1].recorded_bytes, 15u);
    EXPECT_TRUE(b.members[1].present);
    EXPECT_THAT(c.orphans, IsEmpty());
}

TEST(SetCatalog, AMissingObjectOrOneOfAnotherSizeMakesTheSetIncompleteAndOnlyPresentObjectsAreDeletable) {
    Listing missing;
    const std::string key = set_key(2);
    missing.set(set_manifest(key, {{"globals", 5}, {"databases/orders", 15}}), {"databases/orders"});
    const BackupEntry& m = only(missing.catalog());
    EXPECT_EQ(m.status, BackupStatus::incomplete);
    EXPECT_EQ(m.note, "1 of the 2 objects its manifest lists are missing");
    EXPECT_THAT(m.object_keys, ElementsAre(key + "/globals.sql.gz"));
    EXPECT_THAT(m.metadata_keys, ElementsAre(manifest_key(key)));
    EXPECT_FALSE(m.members[1].present);

    Listing resized;
    resized.set(set_manifest(key, {{"globals", 5}, {"databases/orders", 15}}), {"databases/orders"});
    resized.object(object_key(key, "databases/orders"), 14);
    const BackupEntry& r = only(resized.catalog());
    EXPECT_EQ(r.status, BackupStatus::incomplete);
    EXPECT_EQ(r.note, "1 of the 2 objects its manifest lists have another size than it records");
    EXPECT_EQ(r.object_keys.size(), 2u);

    // A sink that does not know sizes (-1) proves presence: that is all it can.
    Listing unsized;
    unsized.set(set_manifest(key, {{"globals", 5}, {"databases/orders", 15}}), {"databases/orders"});
    unsized.object(object_key(key, "databases/orders"), -1);
    EXPECT_EQ(only(unsized.catalog()).status, BackupStatus::complete);
}

TEST(SetCatalog, ASetManifestOfAnotherPipelineOrThatCannotBeReadIsForeignAndNothingOfItIsDeletable) {
    const std::string key = set_key(2);
    Listing theirs;
    theirs.set(set_manifest(key, {{"globals", 5}}, "users"));
    const BackupEntry& t = only(theirs.catalog());
    EXPECT_EQ(t.status, BackupStatus::foreign);
    EXPECT_TRUE(t.is_set);
    EXPECT_EQ(t.note, "manifest of pipeline 'users'");
    EXPECT_THAT(t.object_keys, IsEmpty());
    EXPECT_THAT(t.metadata_keys, IsEmpty());

    // Unreadable, with objects below its key: reported as foreign.
    Listing broken;
    broken.metadata(manifest_key(key), "{\"format\": \"backhaul-manifest/2\"");
    broken.object(object_key(key, "globals"), 5);
    const BackupEntry& b = only(broken.catalog());
    EXPECT_EQ(b.status, BackupStatus::foreign);
    EXPECT_THAT(b.note, HasSubstr("manifest cannot be read: "));
    EXPECT_THAT(b.object_keys, IsEmpty());

    // A format-2 manifest that refuses to parse (an object outside its set) is a set's even with nothing below it.
    Listing outside;
    nlohmann::json j = nlohmann::json::parse(set_manifest(key, {{"globals", 5}}).to_json());
    j["objects"][0]["key"] = "cluster/elsewhere/globals.sql.gz";
    outside.metadata(manifest_key(key), j.dump());
    const BackupCatalog o = outside.catalog();
    EXPECT_EQ(only(o).status, BackupStatus::foreign);
    EXPECT_THAT(only(o).note, HasSubstr("outside its set"));
    EXPECT_THAT(o.orphans, IsEmpty());
}

TEST(SetCatalog, AMarkerWithoutManifestIsAnIncompleteSetOfTheObjectsItNamesThatExist) {
    const std::string key = set_key(2);
    Listing l;
    l.marker(key,
             {object_key(key, "globals"), object_key(key, "databases/orders"), object_key(key, "databases/users")});
    l.object(object_key(key, "globals"), 5);
    l.object(object_key(key, "databases/users"), 7);
    const BackupEntry& b = only(l.catalog());
    EXPECT_EQ(b.status, BackupStatus::incomplete);
    EXPECT_TRUE(b.is_set);
    EXPECT_EQ(b.note,
              "no manifest; this pipeline's pending marker says one of its runs left 2 of the 3 objects it names");
    EXPECT_THAT(b.object_keys, ElementsAre(object_key(key, "globals"), object_key(key, "databases/users")));
    EXPECT_THAT(b.metadata_keys, ElementsAre(pending_key(key)));
    EXPECT_EQ(b.stored_bytes, 12);
    EXPECT_FALSE(b.raw_bytes);
    EXPECT_EQ(set_summary(b), "set of 3 objects");

    // Another pipeline's marker proves nothing: the objects are anyone's.
    Listing theirs;
    theirs.marker(key, {object_key(key, "globals")}, "users");
    theirs.object(object_key(key, "globals"), 5);
    const BackupEntry& t = only(theirs.catalog());
    EXPECT_EQ(t.status, BackupStatus::unknown);
    EXPECT_EQ(t.note, "no manifest; pending marker of pipeline 'users'");
    EXPECT_THAT(t.object_keys, IsEmpty());
    EXPECT_THAT(t.metadata_keys, IsEmpty());

    // Ours, and none of its objects was ever written: metadata without data, like a one-stream run's.
    Listing empty;
    empty.marker(key, {object_key(key, "globals")});
    const BackupCatalog e = empty.catalog();
    EXPECT_THAT(e.backups, IsEmpty());
    ASSERT_EQ(e.orphans.size(), 1u);
    EXPECT_EQ(e.orphans[0].key, pending_key(key));
    EXPECT_EQ(e.orphans[0].time, sys_days(2026y / 11 / 2) + hours(3));
}

TEST(SetCatalog, ObjectsBelowTheSetKeyThatItsMetadataDoesNotNameAreCountedAndNeverDeletable) {
    const std::string key = set_key(2);
    Listing l;
    l.set(set_manifest(key, {{"globals", 5}}));
    l.object(key + "/notes.txt", 3);
    l.object(object_key(key, "databases/extra"), 3);
    const BackupEntry& b = only(l.catalog());
    EXPECT_EQ(b.status, BackupStatus::complete);
    EXPECT_EQ(b.note, "2 object(s) under the set key that its manifest does not name (never touched)");
    EXPECT_EQ(b.unlisted_objects, 2u);
    EXPECT_THAT(b.object_keys, ElementsAre(object_key(key, "globals")));

    Listing marker;
    marker.marker(key, {object_key(key, "globals")});
    marker.object(object_key(key, "globals"), 5);
    marker.object(key + "/notes.txt", 3);
    const BackupEntry& m = only(marker.catalog());
    EXPECT_THAT(m.note, HasSubstr("; 1 object(s) under the set key that it does not name (never touched)"));
    EXPECT_THAT(m.object_keys, ElementsAre(object_key(key, "globals")));

    // Only unlisted objects below a marker of ours: an entry (so they are reported) that deletes nothing but it.
    Listing stray;
    stray.marker(key, {object_key(key, "globals")});
    stray.object(key + "/notes.txt", 3);
    const BackupEntry& s = only(stray.catalog());
    EXPECT_EQ(s.status, BackupStatus::incomplete);
    EXPECT_THAT(s.object_keys, IsEmpty());
    EXPECT_THAT(s.metadata_keys, ElementsAre(pending_key(key)));
}

TEST(SetCatalog, AStaleMarkerNextToASetManifestAddsNothingDeletable) {
    const std::string key = set_key(2);
    Listing l;
    l.set(set_manifest(key, {{"globals", 5}}));
    // The marker names an object the manifest does not: the manifest decides.
    l.marker(key, {object_key(key, "globals"), object_key(key, "databases/orders")});
    l.object(object_key(key, "databases/orders"), 9);
    const BackupEntry& b = only(l.catalog());
    EXPECT_EQ(b.status, BackupStatus::complete);
    EXPECT_THAT(b.object_keys, ElementsAre(object_key(key, "globals")));
    EXPECT_EQ(b.unlisted_objects, 1u);
    // Ours: removed with the set, after its objects, so it cannot later prove the unlisted object ours.
    EXPECT_THAT(b.metadata_keys, ElementsAre(manifest_key(key), pending_key(key)));

    Listing theirs;
    theirs.set(set_manifest(key, {{"globals", 5}}));
    theirs.marker(key, {object_key(key, "globals")}, "users");
    EXPECT_THAT(only(theirs.catalog()).metadata_keys, ElementsAre(manifest_key(key)));

    // Next to a manifest that is not ours, our marker makes nothing deletable.
    Listing foreign;
    foreign.set(set_manifest(key, {{"globals", 5}}, "users"));
    foreign.marker(key, {object_key(key, "globals")});
    const BackupEntry& f = only(foreign.catalog());
    EXPECT_EQ(f.status, BackupStatus::foreign);
    EXPECT_THAT(f.object_keys, IsEmpty());
    EXPECT_THAT(f.metadata_keys, IsEmpty());
}

TEST(SetCatalog, ASetManifestNextToAnObjectAtItsOwnKeyOrWithNothingLeftIsNoBackup) {
    const std::string key = set_key(2);
    Listing at_key;
    at_key.set(set_manifest(key, {{"globals", 5}}));
    at_key.object(key, 10);  // an object at the set key itself: not what the manifest describes
    const BackupCatalog a = at_key.catalog();
    ASSERT_EQ(a.backups.size(), 1u);
    EXPECT_EQ(a.backups[0].status, BackupStatus::foreign);
    EXPECT_EQ(a.backups[0].note, "the manifest describes a set, not this object");
    EXPECT_FALSE(a.backups[0].is_set);

    // Every object gone (a prune interrupted between the objects and the manifest): metadata without data.
    Listing gone;
    gone.set(set_manifest(key, {{"globals", 5}}), {"globals"});
    const BackupCatalog g = gone.catalog();
    EXPECT_THAT(g.backups, IsEmpty());
    ASSERT_EQ(g.orphans.size(), 1u);
    EXPECT_EQ(g.orphans[0].key, manifest_key(key));
}

// ---- Retention ------------------------------------------------------------------------------------------------------

const TimeZone kUtc = TimeZone::utc();
const system_clock::time_point kNow = sys_days(2026y / 11 / 20);

RetentionPolicy keep_last(int64_t n) {
    RetentionPolicy p;
    p.keep_last = n;
    p.min_keep = 0;
    p.incomplete_after = hours(24);
    return p;
}

TEST(SetRetention, DeletesExactlyTheListedObjectsOfASetThenItsManifestAndNeverTheNewestOrUnlistedObjects) {
    Listing l;
    for (int day : {1, 2, 3}) l.set(set_manifest(set_key(day), {{"globals", 5}, {"databases/orders", 15}}));
    l.object(set_key(1) + "/notes.txt", 3);  // unlisted below an old set
    RetentionPlan plan = plan_retention(l.catalog(), keep_last(1), kUtc, kNow, RetentionScope{});
    ASSERT_EQ(plan.backups.size(), 3u);
    EXPECT_TRUE(plan.backups[0].keep);
    EXPECT_EQ(plan.backups[0].backup.key, set_key(3));
    RetentionPlan::Deletions d = plan.deletions();
    EXPECT_THAT(d.data, ElementsAre(object_key(set_key(2), "globals"), object_key(set_key(2), "databases/orders"),
                                    object_key(set_key(1), "globals"), object_key(set_key(1), "databases/orders")));
    EXPECT_THAT(d.metadata, ElementsAre(manifest_key(set_key(2)), manifest_key(set_key(1))));
}

TEST(SetRetention, ADamagedSetIsNoGoodBackupAndGoesOnlyWithDeleteIncompleteAfterTheGracePeriod) {
    Listing l;
    l.set(set_manifest(set_key(1), {{"globals", 5}}));
    l.set(set_manifest(set_key(18), {{"globals", 5}, {"databases/orders", 15}}), {"databases/orders"});
    l.set(set_manifest(set_key(10), {{"globals", 5}}), {"globals"});  // nothing left: an orphan manifest
    const std::string marker_set = set_key(17);
    l.marker(marker_set, {object_key(marker_set, "globals"), object_key(marker_set, "databases/orders")});
    l.object(object_key(marker_set, "globals"), 5);

    // The damaged newest set does not count: the old complete one is the newest good backup and stays.
    RetentionPlan plain = plan_retention(l.catalog(), keep_last(0), kUtc, kNow, RetentionScope{});
    for (const RetentionDecision& d : plain.backups) EXPECT_TRUE(d.keep) << d.backup.key << ": " << d.reason;
    EXPECT_EQ(plain.backups[0].backup.key, set_key(18));
    EXPECT_EQ(plain.backups[0].reason,
              "incomplete (1 of the 2 objects its manifest lists are missing); `prune "
              "--delete-incomplete` removes it once older than 24h00m00s");
    EXPECT_EQ(plain.backups[2].reason, "newest complete backup");
    RetentionPlan::Deletions kept = plain.deletions();
    EXPECT_THAT(kept.data, IsEmpty());
    EXPECT_THAT(kept.metadata, ElementsAre(manifest_key(set_key(10))));  // the orphan, after its grace period

    RetentionScope scope;
    scope.delete_incomplete = true;
    RetentionPlan::Deletions d = plan_retention(l.catalog(), keep_last(0), kUtc, kNow, scope).deletions();
    EXPECT_THAT(d.data, ElementsAre(object_key(set_key(18), "globals"), object_key(marker_set, "globals")));
    EXPECT_THAT(d.metadata, ElementsAre(manifest_key(set_key(18)), pending_key(marker_set), manifest_key(set_key(10))));

    // Younger than the grace period: kept even when asked.
    RetentionPlan early = plan_retention(l.catalog(), keep_last(0), kUtc, sys_days(2026y / 11 / 18) + hours(4), scope);
    EXPECT_EQ(early.backups[0].backup.key, set_key(18));
    EXPECT_TRUE(early.backups[0].keep);
}

TEST(SetRetention, TheSafetyCheckRefusesASetDeletionOutsideItsKeyOrOfAnotherSetsMetadata) {
    Listing l;
    for (int day : {1, 2}) l.set(set_manifest(set_key(day), {{"globals", 5}}));
    RetentionPlan plan = plan_retention(l.catalog(), keep_last(1), kUtc, kNow, RetentionScope{});
    ASSERT_FALSE(plan.backups[1].keep);
    EXPECT_NO_THROW(check_retention_plan(plan));
    RetentionPlan outside = plan;
    outside.backups[1].backup.object_keys.push_back(set_key(2) + "/globals.sql.gz");
    EXPECT_THROW(check_retention_plan(outside), RetentionRefused);
    outside = plan;
    outside.backups[1].backup.object_keys.push_back(set_key(1));  // the set key itself is not below it
    EXPECT_THROW(check_retention_plan(outside), RetentionRefused);
    outside = plan;
    outside.backups[1].backup.metadata_keys.push_back(manifest_key(set_key(2)));
    EXPECT_THROW(check_retention_plan(outside), RetentionRefused);
}

}  // namespace
}  // namespace backhaul
