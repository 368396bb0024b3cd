// Property tests of deletion safety: random catalogs (several pipelines under one prefix, same-name pipelines with
// another {database}, foreign and hand-placed objects, unreadable manifests, markers, orphans, sets that are complete,
// damaged, left by a run without manifest or another pipeline's, with objects below their keys that they do not
// name), random policies
// (zero and huge durations, every rule) and time zones with DST changes, through the real catalog and planner. The
// generator keeps its own record of who wrote what; the assertions use that record, not the code under test:
//   - nothing but this pipeline's complete backups of its identity (or, when asked, its own old incomplete ones, or
//     its own metadata without data) is ever deleted, and of a set only the objects its metadata names;
//   - the newest such complete backup is always kept, and so is at least one that is not shrunken;
//   - the decisions do not depend on the order of the listing.
// Fixed seeds: a failure names its seed and reproduces exactly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/retention_plan.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

using namespace std::chrono;

constexpr const char* kTemplate = "db/{database}_%Y%m%d-%H%M{ext}";
const std::string kOwnDestination = "0123456789abcdef";

enum class Truth {
    own_complete,
    own_other_identity,
    other_pipeline,
    other_destination,
    unreadable,
    hand_placed,
    own_incomplete,
    other_marker,
    // Sets: objects below the key (no data object at it), described by a manifest or a marker.
    own_set_complete,
    own_set_damaged,
    own_set_marker,
    other_set,
    own_set_gone
};

bool is_set(Truth t) { return t >= Truth::own_set_complete; }

struct World {
    std::vector<StoredObject> listing;
    std::map<std::string, std::string> texts;  // metadata key -> content
    std::map<std::string, Truth> truth;        // data key -> who wrote it
    std::set<std::string> own_orphans;         // this pipeline's metadata whose data does not exist
    std::map<std::string, system_clock::time_point> times;
    std::map<std::string, std::set<std::string>> set_objects;  // set key -> the objects its metadata names that exist
    std::set<std::string> unnamed;  // objects below a set key that its metadata does not name
};

std::string manifest_json(const std::string& pipeline, const std::string& destination, const std::string& key,
                          const std::string& database, uint64_t raw) {
    return nlohmann::json{{"format", "backhaul-manifest/1"},
                          {"pipeline", pipeline},
                          {"destination", destination},
                          {"key", key},
                          {"started_unix_ms", 0},
                          {"finished_unix_ms", 0},
                          {"duration_ms", 0},
                          {"raw_bytes", raw},
                          {"stored_bytes", raw},
                          {"sha256", ""},
                          {"variables", {{"database", database}, {"ext", ".gz"}, {"server_version", "1"}}}}
        .dump();
}

std::string marker_json(const std::string& pipeline, const std::string& key,
                        const std::vector<std::string>& objects = {}) {
    nlohmann::json j{{"format", "backhaul-pending/1"},
                     {"pipeline", pipeline},
                     {"destination", kOwnDestination},
                     {"key", key},
                     {"started_unix_ms", 0}};
    if (!objects.empty()) j["objects"] = objects;
    return j.dump();
}

// A set manifest listing each object at `size` stored bytes, raw totals `raw`.
std::string set_manifest_json(const std::string& pipeline, const std::string& key,
                              const std::vector<std::string>& objects, int64_t size, uint64_t raw) {
    nlohmann::json j = nlohmann::json::parse(manifest_json(pipeline, kOwnDestination, key, "orders", raw));
    j["format"] = "backhaul-manifest/2";
    j["objects"] = nlohmann::json::array();
    for (const std::string& o : objects)
        j["objects"].push_back({{"stream", o.substr(key.size() + 1)},
                                {"key", o},
                                {"ext", ""},
                                {"raw_bytes", raw},
                                {"stored_bytes", size},
                                {"sha256", std::string(64, 'a')},
                                {"variables", nlohmann::json::object()},
                                {"restore_phase", 0}});
    return j.dump();
}

World random_world(std::mt19937_64& random, const KeyTemplate& key_template, const TimeZone& zone,
                   system_clock::time_point now) {
    World w;
    std::uniform_int_distribution<int> count(0, 40), kind(0, 14), minutes_back(0, 3 * 366 * 24 * 60);
    std::uniform_int_distribution<uint64_t> raw(0, 2000);
    const int n = count(random);
    for (int i = 0; i < n; ++i) {
        // Minute resolution in a zone with DST: keys in the repeated hour collide, as they would in real life.
        const system_clock::time_point time = now - minutes(minutes_back(random));
        const int k = kind(random);
        const std::string database = k == 1 ? "users" : "orders";
        // A set's key has no extension: its objects lie below it.
        const std::string key =
            key_template.render(time, zone, {{"database", database}, {"ext", k >= 10 ? "" : ".gz"}});
        if (w.truth.count(key)) continue;
        Truth truth;
        switch (k) {
            case 0:
            case 1:
            case 2:
            case 3:
                truth = k == 1 ? Truth::own_other_identity : Truth::own_complete;
                break;
            case 4:
                truth = Truth::other_pipeline;
                break;
            case 5:
                truth = Truth::other_destination;
                break;
            case 6:
                truth = Truth::unreadable;
                break;
            case 7:
                truth = Truth::hand_placed;
                break;
            case 8:
                truth = Truth::own_incomplete;
                break;
            case 9:
                truth = Truth::other_marker;
                break;
            case 10:
                truth = Truth::own_set_complete;
                break;
            case 11:
                truth = Truth::own_set_damaged;
                break;
            case 12:
                truth = Truth::own_set_marker;
                break;
            case 13:
                truth = Truth::other_set;
                break;
            default:
                truth = Truth::own_set_gone;
                break;
        }
        // Shrunken and big backups both occur: raw sizes span 0 to 2000, sometimes tiny.
        const uint64_t size = random() % 4 == 0 ? raw(random) / 100 : raw(random);
        w.truth[key] = truth;
        w.times[key] = time;
        auto add = [&](const std::string& meta, const std::string& text) {
            w.listing.push_back({meta, static_cast<int64_t>(text.size()), 0});
            w.texts[meta] = text;
        };
        if (is_set(truth)) {
            // Two named objects (a damaged set lost one), and sometimes one below the key that nothing names.
            const std::vector<std::string> named = {key + "/globals.gz", key + "/databases/orders.gz"};
            const size_t written = truth == Truth::own_set_damaged ? 1 : truth == Truth::own_set_gone ? 0 : 2;
            for (size_t i = 0; i < written; ++i) {
                w.listing.push_back({named[i], static_cast<int64_t>(size), 0});
                w.set_objects[key].insert(named[i]);
            }
            if (truth != Truth::own_set_gone && random() % 3 == 0) {
                w.listing.push_back({key + "/databases/by-hand.gz", 1, 0});
                w.unnamed.insert(key + "/databases/by-hand.gz");
            }
            switch (truth) {
                case Truth::own_set_complete:
                case Truth::own_set_damaged:
                    add(manifest_key(key), set_manifest_json("p", key, named, static_cast<int64_t>(size), size));
                    // Sometimes a stale marker of ours next to it, naming an object the manifest does not.
                    if (random() % 4 == 0)
                        add(pending_key(key), marker_json("p", key, {named[0], key + "/databases/by-hand.gz"}));
                    break;
                case Truth::own_set_marker:
                    add(pending_key(key), marker_json("p", key, named));
                    break;
                case Truth::other_set:
                    add(manifest_key(key), set_manifest_json("q", key, named, static_cast<int64_t>(size), size));
                    break;
                default:
                    add(manifest_key(key), set_manifest_json("p", key, named, static_cast<int64_t>(size), size));
                    w.own_orphans.insert(manifest_key(key));
                    break;
            }
            continue;
        }
        w.listing.push_back({key, static_cast<int64_t>(size), 0});
        switch (truth) {
            case Truth::own_complete:
            case Truth::own_other_identity:
                add(manifest_key(key), manifest_json("p", kOwnDestination, key, database, size));
                break;
            case Truth::other_pipeline:
                add(manifest_key(key), manifest_json("q", kOwnDestination, key, database, size));
                break;
            case Truth::other_destination:
                add(manifest_key(key), manifest_json("p", "fedcba9876543210", key, database, size));
                break;
            case Truth::unreadable:
                add(manifest_key(key), "{\"format\": \"backhaul-manifest/1\"");
                break;
            case Truth::hand_placed:
                break;
            case Truth::own_incomplete:
                add(pending_key(key), marker_json("p", key));
                break;
            case Truth::other_marker:
                add(pending_key(key), marker_json("q", key));
                break;
            default:
                break;  // sets: above
        }
    }
    // Metadata without data: ours (deletable after the grace period) and others' (never).
    for (int i = 0, orphans = count(random) / 8; i < orphans; ++i) {
        const system_clock::time_point time = now - minutes(minutes_back(random));
        const std::string key = key_template.render(time, zone, {{"database", "orders"}, {"ext", ".gz"}});
        if (w.truth.count(key)) continue;
        const bool ours = random() % 2 == 0;
        const std::string meta = random() % 2 ? manifest_key(key) : pending_key(key);
        if (w.texts.count(meta)) continue;
        const std::string text = is_manifest_key(meta)
                                     ? manifest_json(ours ? "p" : "q", kOwnDestination, key, "orders", 1)
                                     : marker_json(ours ? "p" : "q", key);
        w.listing.push_back({meta, static_cast<int64_t>(text.size()), 0});
        w.texts[meta] = text;
        if (ours) w.own_orphans.insert(meta);
    }
    return w;
}

RetentionPolicy random_policy(std::mt19937_64& random) {
    RetentionPolicy p;
    auto small = [&] { return static_cast<int64_t>(random() % 5); };
    p.keep_last = small();
    p.keep_hourly = small();
    p.keep_daily = small();
    p.keep_weekly = small();
    p.keep_monthly = small();
    p.keep_yearly = small();
    if (random() % 10 == 0) p.keep_daily = INT64_MAX;  // huge counts
    p.min_keep = small();
    const int64_t durations[] = {0, 1, 60'000, 86'400'000, 30LL * 86'400'000, INT64_MAX / 2, INT64_MAX};
    p.incomplete_after = milliseconds(durations[random() % std::size(durations)]);
    return p;
}

std::vector<std::string> decision_lines(const RetentionPlan& plan) {
    std::vector<std::string> lines;
    for (const RetentionDecision& d : plan.backups)
        lines.push_back((d.keep ? "keep " : "delete ") + d.backup.key + " " + d.reason);
    for (const OrphanDecision& d : plan.orphans)
        lines.push_back((d.keep ? "keep " : "delete ") + d.orphan.key + " " + d.reason);
    return lines;
}

TEST(RetentionProperty, OnlyThisPipelinesBackupsAreDeletedTheNewestIsKeptAndListingOrderDoesNotMatter) {
    const KeyTemplate key_template = KeyTemplate::parse(kTemplate, SourcePosition{"p.toml", 1, 1});
    const char* zones[] = {"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Seoul"};
    const system_clock::time_point now = sys_days(2026y / November / 1) + hours(1) + minutes(30);  // a DST day in NY
    int planned = 0, refused = 0, deletions = 0, set_deletions = 0;
    for (uint64_t seed = 1; seed <= 400; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937_64 random(seed);
        const TimeZone zone = TimeZone::load(zones[seed % std::size(zones)]);
        const KeyMatcher matcher(key_template, {}, zone);
        const World world = random_world(random, key_template, zone, now);
        const PipelineOwner owner{"p", kOwnDestination};
        auto read = [&](const std::string& key) {
            auto it = world.texts.find(key);
            if (it == world.texts.end()) throw std::runtime_error("no such object");
            return it->second;
        };
        const RetentionPolicy policy = random_policy(random);
        RetentionScope scope;
        scope.delete_incomplete = random() % 2 == 0;
        scope.shrink_threshold = random() % 3 == 0 ? 0.0 : 0.5;
        const bool run_scope = random() % 2 == 0;
        if (run_scope) scope.identity = std::map<std::string, std::string>{{"database", "orders"}};

        BackupCatalog catalog = catalog_backups(world.listing, key_template, matcher, owner, read);
        RetentionPlan plan;
        try {
            plan = plan_retention(catalog, policy, zone, now, scope);
        } catch (const RetentionRefused& e) {
            // Only without a run's identity, and only when both identities of pipeline "p" have complete backups.
            EXPECT_FALSE(run_scope) << e.what();
            std::set<Truth> kinds;
            for (const auto& [key, truth] : world.truth) kinds.insert(truth);
            EXPECT_TRUE((kinds.count(Truth::own_complete) || kinds.count(Truth::own_set_complete)) &&
                        kinds.count(Truth::own_other_identity))
                << e.what();
            ++refused;
            continue;
        }
        ++planned;

        // 1. What may be deleted, by the generator's record. Without a run's identity only one identity of "p" has
        // complete backups here (else the planner refused), so all of them are in scope.
        auto in_scope = [&](Truth t) {
            return t == Truth::own_complete || t == Truth::own_set_complete ||
                   (!run_scope && t == Truth::own_other_identity);
        };
        std::string newest_own_key;
        system_clock::time_point newest_own_time;
        for (const auto& [key, truth] : world.truth) {
            if (!in_scope(truth)) continue;
            const auto time = world.times.at(key);
            if (newest_own_key.empty() || time > newest_own_time || (time == newest_own_time && key > newest_own_key)) {
                newest_own_key = key;
                newest_own_time = time;
            }
        }
        bool kept_good = false, own_good_exists = false;
        for (const RetentionDecision& d : plan.backups) {
            const Truth truth = world.truth.at(d.backup.key);
            if (in_scope(truth) && !d.shrunken) {
                own_good_exists = true;
                kept_good |= d.keep;
            }
            if (d.keep) continue;
            ++deletions;
            const bool own_incomplete =
                truth == Truth::own_incomplete || truth == Truth::own_set_damaged || truth == Truth::own_set_marker;
            const bool old_own_incomplete =
                own_incomplete && scope.delete_incomplete &&
                unix_ms(now) - unix_ms(world.times.at(d.backup.key)) > policy.incomplete_after.count();
            EXPECT_TRUE(in_scope(truth) || old_own_incomplete) << "deleted " << d.backup.key << ": " << d.reason;
        }
        for (const OrphanDecision& d : plan.orphans) {
            if (d.keep) continue;
            EXPECT_TRUE(world.own_orphans.count(d.orphan.key)) << "deleted " << d.orphan.key;
        }
        // Data deleted: a one-stream backup's object, or an object a set's metadata names, of a set that is deleted.
        auto named_objects = [&](const std::string& set_key) {
            auto it = world.set_objects.find(set_key);
            return it == world.set_objects.end() ? std::set<std::string>{} : it->second;
        };
        std::set<std::string> deleted_sets;
        for (const RetentionDecision& d : plan.backups)
            if (!d.keep && is_set(world.truth.at(d.backup.key))) deleted_sets.insert(d.backup.key);
        const RetentionPlan::Deletions deletions = plan.deletions();
        std::set<std::string> deleted_set_objects;
        for (const std::string& key : deletions.data) {
            EXPECT_FALSE(world.unnamed.count(key)) << "deleted " << key << ", which no metadata names";
            if (world.truth.count(key)) {
                EXPECT_FALSE(is_set(world.truth.at(key))) << key;
                continue;
            }
            const std::string set_key = key.substr(0, key.find('/', key.find('/') + 1));
            EXPECT_TRUE(deleted_sets.count(set_key) && named_objects(set_key).count(key)) << "deleted " << key;
            deleted_set_objects.insert(key);
        }
        // A deleted set loses every object its metadata names that exists, then its own metadata.
        set_deletions += static_cast<int>(deleted_sets.size());
        for (const std::string& set_key : deleted_sets) {
            for (const std::string& object : named_objects(set_key))
                EXPECT_TRUE(deleted_set_objects.count(object)) << object << " of deleted set " << set_key;
            const std::set<std::string> metadata(deletions.metadata.begin(), deletions.metadata.end());
            EXPECT_TRUE(metadata.count(manifest_key(set_key)) || metadata.count(pending_key(set_key))) << set_key;
        }

        // 2. The newest complete backup of ours is kept, and a good (not shrunken) one survives: the oldest of ours
        // has nothing to be compared with, so one always exists.
        if (!newest_own_key.empty()) {
            auto it = std::find_if(plan.backups.begin(), plan.backups.end(),
                                   [&](const RetentionDecision& d) { return d.backup.key == newest_own_key; });
            ASSERT_NE(it, plan.backups.end());
            EXPECT_TRUE(it->keep) << newest_own_key << ": " << it->reason;
            EXPECT_TRUE(own_good_exists);
        }
        EXPECT_EQ(kept_good, own_good_exists);

        // 3. Any order of the listing, the same decisions.
        std::vector<StoredObject> shuffled = world.listing;
        std::shuffle(shuffled.begin(), shuffled.end(), random);
        std::reverse(shuffled.begin(), shuffled.end());
        RetentionPlan again =
            plan_retention(catalog_backups(shuffled, key_template, matcher, owner, read), policy, zone, now, scope);
        EXPECT_EQ(decision_lines(again), decision_lines(plan));
    }
    // The generator reaches every branch: plans, refusals and deletions all happen.
    EXPECT_GT(planned, 100);
    EXPECT_GT(refused, 10);
    EXPECT_GT(deletions, 100);
    EXPECT_GT(set_deletions, 20);
}

}  // namespace
}  // namespace backhaul
