// The catalog: which listed objects are this pipeline's complete or incomplete backups, and which are not provably
// its own (foreign, unknown), from the manifests and pending markers it reads.
#include "engine/backup_catalog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/backup_manifest.hpp"
#include "engine/retention_plan.hpp"

namespace backhaul {
namespace {

using ::testing::ElementsAre;

const PipelineOwner kOwner{"orders", "00112233aabbccdd"};

struct Listing {
    std::vector<StoredObject> objects;
    std::map<std::string, std::string> texts;

    void data(const std::string& key) { objects.push_back({key, 10, 0}); }
    void metadata(const std::string& key, const std::string& text) {
        objects.push_back({key, static_cast<int64_t>(text.size()), 0});
        texts[key] = text;
    }
    void manifest(const std::string& key, const std::string& pipeline = "orders",
                  const std::string& destination = kOwner.destination, const std::string& named_key = "") {
        BackupManifest m;
        m.pipeline = pipeline;
        m.destination = destination;
        m.key = named_key.empty() ? key : named_key;
        m.raw_bytes = 100;
        metadata(manifest_key(key), m.to_json());
    }
    BackupCatalog catalog(const std::string& key_template = "{pipeline}/%Y%m%d{ext}") const {
        KeyTemplate t = KeyTemplate::parse(key_template, SourcePosition{"p.toml", 1, 1});
        KeyMatcher m(t, {{"pipeline", "orders"}}, TimeZone::utc());
        return catalog_backups(objects, t, m, kOwner, [this](const std::string& key) {
            auto it = texts.find(key);
            if (it == texts.end()) throw std::runtime_error("not found");
            return it->second;
        });
    }
};

std::vector<std::string> statuses(const BackupCatalog& c) {
    std::vector<std::string> out;
    for (const BackupEntry& b : c.backups)
        out.push_back(b.key + " " + status_name(b.status) + (b.note.empty() ? "" : ": " + b.note));
    return out;
}

TEST(BackupCatalog, OnlyAManifestOfThisPipelineAndDestinationMakesABackupComplete) {
    Listing l;
    l.data("orders/20250310.gz");
    l.manifest("orders/20250310.gz");
    l.data("orders/20250309.gz");
    l.manifest("orders/20250309.gz", "users");
    l.data("orders/20250308.gz");
    l.manifest("orders/20250308.gz", "orders", "ffffffffffffffff");
    l.data("orders/20250307.gz");
    l.manifest("orders/20250307.gz", "orders", kOwner.destination, "orders/20250101.gz");  // copied from elsewhere
    l.data("orders/20250306.gz");
    l.metadata("orders/20250306.gz.manifest.json", "not json");
    l.data("orders/20250305.gz");  // no manifest, no marker
    l.data("orders/20250304.gz");
    l.metadata("orders/20250304.gz.pending.json",
               PendingMarker{"orders", kOwner.destination, "orders/20250304.gz", 0, {}}.to_json());
    l.data("orders/20250303.gz");
    l.metadata("orders/20250303.gz.pending.json",
               PendingMarker{"users", kOwner.destination, "orders/20250303.gz", 0, {}}.to_json());
    l.data("orders/notes.txt");  // not a key of the template: not listed at all
    EXPECT_THAT(
        statuses(l.catalog()),
        ElementsAre("orders/20250310.gz complete", "orders/20250309.gz foreign: manifest of pipeline 'users'",
                    "orders/20250308.gz foreign: manifest of a pipeline named 'orders' with another sink plugin or key "
                    "template (destination ffffffffffffffff)",
                    "orders/20250307.gz foreign: manifest names another key ('orders/20250101.gz')",
                    "orders/20250306.gz foreign: manifest cannot be read: manifest is not a JSON object",
                    "orders/20250305.gz unknown: no manifest and no pending marker of this pipeline",
                    "orders/20250304.gz incomplete: no manifest; this pipeline's pending marker says one of its runs "
                    "left it",
                    "orders/20250303.gz unknown: pending marker of pipeline 'users'"));
}

TEST(BackupCatalog, AManifestWithoutADestinationIsTheNamesAsBeforeItWasRecorded) {
    Listing l;
    l.data("orders/20250310.gz");
    l.metadata("orders/20250310.gz.manifest.json",
               R"({"format": "backhaul-manifest/1", "pipeline": "orders", "key": "orders/20250310.gz",
                   "started_unix_ms": 0, "finished_unix_ms": 0, "duration_ms": 0, "raw_bytes": 7,
                   "stored_bytes": 7, "sha256": ""})");
    BackupCatalog c = l.catalog();
    ASSERT_EQ(c.backups.size(), 1u);
    EXPECT_TRUE(c.backups[0].complete());
    EXPECT_EQ(c.backups[0].raw_bytes, 7u);
}

TEST(BackupCatalog, OrphansAreOnlyThisPipelinesMetadataWithoutData) {
    Listing l;
    l.manifest("orders/20250301.gz");              // ours, data gone
    l.manifest("orders/20250302.gz", "users");     // someone else's
    l.metadata("orders/20250303.gz.pending.json",  // ours, the upload never appeared
               PendingMarker{"orders", kOwner.destination, "orders/20250303.gz", 0, {}}.to_json());
    l.metadata("orders/20250304.gz.manifest.json", "{}");  // unreadable: not provably ours
    BackupCatalog c = l.catalog();
    EXPECT_TRUE(c.backups.empty());
    ASSERT_EQ(c.orphans.size(), 2u);
    EXPECT_EQ(c.orphans[0].key, "orders/20250301.gz.manifest.json");
    EXPECT_EQ(c.orphans[1].key, "orders/20250303.gz.pending.json");
    // Their age is the key's: 2025-03-01.
    EXPECT_EQ(c.orphans[0].time, std::chrono::sys_days(std::chrono::year(2025) / 3 / 1));
}

TEST(BackupCatalog, IdentityIsTheKeyTemplatesVariablesFromTheManifest) {
    Listing l;
    l.data("orders/orders_20250310.gz");
    BackupManifest m;
    m.pipeline = "orders";
    m.destination = kOwner.destination;
    m.key = "orders/orders_20250310.gz";
    m.variables = {{"database", "orders"}, {"server_version", "16.2"}, {"ext", ".gz"}, {"pipeline", "orders"}};
    l.metadata(manifest_key(m.key), m.to_json());
    BackupCatalog c = l.catalog("{pipeline}/{database}_%Y%m%d{ext}");
    ASSERT_EQ(c.backups.size(), 1u);
    EXPECT_EQ(c.backups[0].identity, (std::map<std::string, std::string>{{"database", "orders"}}));
}

TEST(RetentionSafetyCheck, RefusesAPlanThatDeletesWhatIsNotOursOrTheNewestBackup) {
    BackupEntry newest, older, theirs;
    newest.key = "b/2";
    newest.time = std::chrono::sys_days(std::chrono::year(2025) / 3 / 2);
    newest.status = BackupStatus::complete;
    older = newest;
    older.key = "b/1";
    older.time -= std::chrono::hours(24);
    theirs = older;
    theirs.key = "b/0";
    theirs.status = BackupStatus::foreign;
    RetentionPlan plan;
    plan.backups = {{newest, true, "last #1"}, {older, false, "no rule keeps it"}};
    EXPECT_NO_THROW(check_retention_plan(plan));
    plan.backups[0].keep = false;
    EXPECT_THROW(check_retention_plan(plan), RetentionRefused);
    plan.backups = {{newest, true, "last #1"}, {theirs, false, "?"}};
    EXPECT_THROW(check_retention_plan(plan), RetentionRefused);
}

TEST(ShrinkFinding, ComparesWithTheNewestOlderBackupThatIsNotShrunken) {
    auto entry = [](const std::string& key, uint64_t raw) {
        BackupEntry b;
        b.key = key;
        b.status = BackupStatus::complete;
        b.raw_bytes = raw;
        return b;
    };
    // Newest first: a shrunken 10 after a good 1000.
    std::vector<BackupEntry> catalog = {entry("b/3", 10), entry("b/2", 1000), entry("b/1", 900)};
    auto finding = shrink_finding(catalog, {}, 20, 0.5);
    ASSERT_TRUE(finding);
    EXPECT_EQ(finding->baseline_key, "b/2");
    EXPECT_EQ(finding->baseline_raw_bytes, 1000u);
    EXPECT_FALSE(shrink_finding(catalog, {}, 600, 0.5));
    EXPECT_FALSE(shrink_finding(catalog, {}, 20, 0.0));  // off
    EXPECT_FALSE(shrink_finding({}, {}, 0, 0.5));        // nothing to compare with
}

}  // namespace
}  // namespace backhaul
