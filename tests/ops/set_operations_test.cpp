// Sets (docs/sets.md) through the real binary against sink-local: `list` shows a set as one backup, `prune` deletes
// exactly a set's listed objects and then its manifest (with --delete-incomplete, exactly the objects a marker of ours
// names), never what its metadata does not name, and `verify` checks every object of a set, naming the stream of
// each mismatch. The sets are written here as a run leaves them in the sink: objects below the set key, then the
// manifest (format 2) or, for a run that died, only the pending marker.
#include "ops_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSetTemplate = "{pipeline}/%Y%m%dT%H%M%S";

struct PlantedStream {
    std::string stream;  // "databases/orders": plain names, so the key is the name
    std::string raw;     // what the source produced
};

class SetOperationsTest : public OpsTest {
  protected:
    std::filesystem::path set_pipeline(const std::string& transforms, const std::string& tables = "") {
        return pipeline(cat_source(), transforms, local_sink(kSetTemplate), tables);
    }

    // The stored bytes of `raw` through the pipeline's transforms: none, or gzip (the system's, not ours).
    std::string stored_form(const std::string& raw, bool gzip_it) {
        if (!gzip_it) return raw;
        TempDir dir;
        write_file(dir / "raw", raw);
        CommandResult r =
            run_command({"sh", "-c", "gzip -nc < " + (dir / "raw").string() + " > " + (dir / "raw.gz").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(dir / "raw.gz");
    }

    std::string object_key(const std::string& set_key, const std::string& stream, bool gzip_it) const {
        return set_key + "/" + stream + (gzip_it ? ".sql.gz" : ".sql");
    }

    // Each stream's object, then (unless `manifest` is false) the set's manifest naming `owner`.
    void plant_set(const std::string& set_key, const std::vector<PlantedStream>& streams, bool gzip_it = false,
                   const std::string& owner = "ops", bool manifest = true) {
        nlohmann::json objects = nlohmann::json::array();
        uint64_t raw_total = 0, stored_total = 0;
        for (const PlantedStream& s : streams) {
            const std::string key = object_key(set_key, s.stream, gzip_it);
            const std::string stored = stored_form(s.raw, gzip_it);
            write_file(sink_dir() / key, stored);
            objects.push_back({{"stream", s.stream},
                               {"key", key},
                               {"ext", ".sql"},
                               {"raw_bytes", s.raw.size()},
                               {"stored_bytes", stored.size()},
                               {"sha256", sha256_of(sink_dir() / key)},
                               {"variables", nlohmann::json::object()},
                               {"restore_phase", 0}});
            raw_total += s.raw.size();
            stored_total += stored.size();
        }
        if (!manifest) return;
        nlohmann::json m = nlohmann::json::parse(manifest_text(owner, set_key, raw_total));
        m["format"] = "backhaul-manifest/2";
        m["stored_bytes"] = stored_total;
        m["objects"] = objects;
        write_file(sink_dir() / (set_key + ".manifest.json"), m.dump());
    }

    void plant_marker(const std::string& set_key, const std::vector<std::string>& object_keys,
                      const std::string& owner = "ops") {
        write_file(sink_dir() / (set_key + ".pending.json"), nlohmann::json{{"format", "backhaul-pending/1"},
                                                                            {"pipeline", owner},
                                                                            {"destination", ""},
                                                                            {"key", set_key},
                                                                            {"started_unix_ms", 0},
                                                                            {"objects", object_keys}}
                                                                 .dump());
    }

    void overwrite(const std::string& key, const std::string& data) {
        std::filesystem::permissions(sink_dir() / key, std::filesystem::perms::owner_write,
                                     std::filesystem::perm_options::add);
        write_file(sink_dir() / key, data);
    }

    const std::vector<PlantedStream> streams_ = {{"globals", "CREATE ROLE app;\n"},
                                                 {"databases/orders", std::string(5000, 'o')}};
};

// ---- list -----------------------------------------------------------------------------------------------------------

TEST_F(SetOperationsTest, ListShowsASetAsOneBackupWithItsObjects) {
    auto file = set_pipeline("");
    plant_set("ops/20250102T030000", streams_);
    plant_set("ops/20250101T030000", streams_, false, "ops", false);
    plant_marker("ops/20250101T030000", {"ops/20250101T030000/globals.sql", "ops/20250101T030000/databases/x.sql"});
    CommandResult list = backhaul({"list", file.string()});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out,
              "KEY                  TIME (UTC)                STORED  STATUS\n"
              "ops/20250102T030000  2025-01-02T03:00:00Z     4.9 KiB  complete  set of 2 streams\n"
              "ops/20250101T030000  2025-01-01T03:00:00Z        17 B  incomplete  set of 2 objects; no manifest; "
              "this pipeline's pending marker says one of its runs left 1 of the 2 objects it names; 1 object(s) "
              "under the set key that it does not name (never touched)\n");

    CommandResult json = backhaul({"list", file.string(), "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    nlohmann::json j = nlohmann::json::parse(json.out);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["key"], "ops/20250102T030000");
    EXPECT_EQ(j[0]["status"], "complete");
    EXPECT_EQ(j[0]["set"], true);
    EXPECT_EQ(j[0]["raw_bytes"], 5017);
    EXPECT_EQ(j[0]["stored_bytes"], 5017);
    EXPECT_EQ(j[0]["objects"], nlohmann::json::parse(R"([
        {"stream": "globals", "key": "ops/20250102T030000/globals.sql", "stored_bytes": 17, "present": true},
        {"stream": "databases/orders", "key": "ops/20250102T030000/databases/orders.sql", "stored_bytes": 5000,
         "present": true}])"));
    EXPECT_EQ(j[1]["status"], "incomplete");
    EXPECT_EQ(j[1]["objects"][0], nlohmann::json::parse(
                                      R"({"stream": null, "key": "ops/20250101T030000/globals.sql",
                                          "stored_bytes": 17, "present": true})"));
    EXPECT_EQ(j[1]["objects"][1]["present"], false);
}

// ---- prune ----------------------------------------------------------------------------------------------------------

TEST_F(SetOperationsTest, PruneDeletesAnOldSetsListedObjectsThenItsManifestAndNeverWhatItDoesNotList) {
    auto file = set_pipeline("", "[retention]\nkeep_last = 1\nmin_keep = 0\n");
    plant_set("ops/20250101T030000", streams_);
    plant_set("ops/20250102T030000", streams_);
    write_file(sink_dir() / "ops/20250101T030000/databases/by-hand.sql", "an operator's copy");

    CommandResult dry = backhaul({"prune", file.string(), "--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_EQ(dry.out,
              "keep    ops/20250102T030000  [set of 2 streams]  (last #1)\n"
              "would delete ops/20250101T030000  [set of 2 streams]  (no rule keeps it)\n"
              "ops: kept 1, would delete 1\n");

    CommandResult prune = backhaul({"prune", file.string()});
    ASSERT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_THAT(files_below(sink_dir()),
                ElementsAre("ops/20250101T030000/databases/by-hand.sql", "ops/20250102T030000.manifest.json",
                            "ops/20250102T030000/databases/orders.sql", "ops/20250102T030000/globals.sql"));
    // What is left below the deleted set's key is not a backup: nothing claims it, nothing deletes it.
    CommandResult again = backhaul({"prune", file.string(), "--delete-incomplete"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_TRUE(std::filesystem::exists(sink_dir() / "ops/20250101T030000/databases/by-hand.sql"));
}

TEST_F(SetOperationsTest, PruneDeleteIncompleteRemovesAMarkerOnlySetsObjectsAndTheMarkerAndNothingElse) {
    auto file = set_pipeline("", "[retention]\nkeep_last = 5\n");
    plant_set("ops/20250103T030000", streams_);
    // Our run that died before its manifest: 1 of the 2 objects its marker names was written, plus a stray object.
    plant_set("ops/20250102T030000", {streams_[0]}, false, "ops", false);
    plant_marker("ops/20250102T030000",
                 {"ops/20250102T030000/globals.sql", "ops/20250102T030000/databases/orders.sql"});
    write_file(sink_dir() / "ops/20250102T030000/databases/stray.sql", "not the run's");
    // Another pipeline's run that died the same way: not ours to remove.
    plant_set("ops/20250101T030000", {streams_[0]}, false, "ops", false);
    plant_marker("ops/20250101T030000", {"ops/20250101T030000/globals.sql"}, "users");

    CommandResult plain = backhaul({"prune", file.string()});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_THAT(plain.out, HasSubstr("keep    ops/20250102T030000  [set of 2 objects]  (incomplete (no manifest; this "
                                     "pipeline's pending marker says one of its runs left 1 of the 2 objects it "
                                     "names; 1 object(s) under the set key that it does not name (never touched)); "
                                     "`prune --delete-incomplete` removes it once older than 24h00m00s)"));
    EXPECT_THAT(plain.out, HasSubstr("keep    ops/20250101T030000  [set]  (not provably this pipeline's (no manifest; "
                                     "pending marker of pipeline 'users'); never deleted)"));
    const auto before = files_below(sink_dir());

    CommandResult prune = backhaul({"prune", file.string(), "--delete-incomplete"});
    ASSERT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_THAT(prune.out, HasSubstr("delete  ops/20250102T030000  [set of 2 objects]  (incomplete (no manifest;"));
    std::vector<std::string> expected;
    for (const std::string& f : before)
        if (f != "ops/20250102T030000/globals.sql" && f != "ops/20250102T030000.pending.json") expected.push_back(f);
    EXPECT_EQ(files_below(sink_dir()), expected);
    EXPECT_THAT(expected, ::testing::Contains("ops/20250102T030000/databases/stray.sql"));
    EXPECT_THAT(expected, ::testing::Contains("ops/20250101T030000/globals.sql"));
}

// ---- verify ---------------------------------------------------------------------------------------------------------

TEST_F(SetOperationsTest, AGoodSetVerifiesEveryObjectThroughTheDecodeChain) {
    auto file = set_pipeline(gzip);
    plant("ops/20250101T030000", true, "an older one-stream backup");
    plant_set("ops/20250102T030000", streams_, true);
    CommandResult v = backhaul({"verify", file.string(), "--key", "ops/20250102T030000"});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    EXPECT_THAT(v.out, HasSubstr("verified set 'ops/20250102T030000': 2 streams, "));
    EXPECT_THAT(v.out, HasSubstr(", decoded 4.9 KiB, each matches its manifest"));
    EXPECT_THAT(v.out, HasSubstr("  databases/orders 'ops/20250102T030000/databases/orders.sql.gz': "));
    EXPECT_THAT(v.out, HasSubstr("SHA-256 " + sha256_of(sink_dir() / "ops/20250102T030000/globals.sql.gz") +
                                 ", decoded 17 B\n"));
    // The newest complete backup is the set.
    CommandResult latest = backhaul({"verify", file.string()});
    ASSERT_EQ(latest.exit_code, 0) << latest.err;
    EXPECT_THAT(latest.out, HasSubstr("verified set 'ops/20250102T030000'"));
}

TEST_F(SetOperationsTest, AStoredSetWithoutTransformsVerifies) {
    auto file = set_pipeline("");
    plant_set("ops/20250102T030000", streams_);
    CommandResult v = backhaul({"verify", file.string()});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    EXPECT_THAT(v.out, HasSubstr("verified set 'ops/20250102T030000': 2 streams, 4.9 KiB stored, decoded 4.9 KiB"));
}

TEST_F(SetOperationsTest, VerifyNamesTheStreamOfEveryBadOrMissingObject) {
    auto file = set_pipeline(gzip);
    const std::string key = "ops/20250102T030000";
    plant_set(key, streams_, true);
    const std::string orders = key + "/databases/orders.sql.gz";
    std::string data = read_file(sink_dir() / orders);
    const std::string recorded_sha = sha256_of(sink_dir() / orders);
    data[data.size() / 2] ^= 0x40;
    overwrite(orders, data);
    CommandResult v = backhaul({"verify", file.string(), "--key", key});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err,
                HasSubstr("error verify '" + key + "': stream 'databases/orders' ('" + orders +
                          "'): SHA-256 mismatch: the manifest records " + recorded_sha + ", the object hashes to " +
                          sha256_of(sink_dir() / orders) + "; decoding failed: transform[0] (compress-gzip): "));
    EXPECT_THAT(v.err, Not(HasSubstr("stream 'globals'")));

    // A missing object too: every problem of the set in one report.
    std::filesystem::remove(sink_dir() / (key + "/globals.sql.gz"));
    CommandResult both = backhaul({"verify", file.string(), "--key", key});
    EXPECT_EQ(both.exit_code, 1);
    EXPECT_THAT(both.err, HasSubstr("error verify '" + key + "': stream 'globals' ('" + key +
                                    "/globals.sql.gz'): missing from the sink; stream 'databases/orders' ('" + orders +
                                    "'): SHA-256 mismatch"));
    // And the set is no longer complete: --latest has nothing to verify.
    CommandResult latest = backhaul({"verify", file.string()});
    EXPECT_EQ(latest.exit_code, 1);
    EXPECT_THAT(latest.err, HasSubstr("verify: pipeline 'ops' has no complete backup in the sink"));
}

TEST_F(SetOperationsTest, ATruncatedObjectOfASetIsASizeMismatchNamingItsStream) {
    auto file = set_pipeline("");
    const std::string key = "ops/20250102T030000";
    plant_set(key, streams_);
    overwrite(key + "/databases/orders.sql", std::string(4000, 'o'));
    CommandResult v = backhaul({"verify", file.string(), "--key", key});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err, HasSubstr("stream 'databases/orders' ('" + key +
                                 "/databases/orders.sql'): size mismatch: the "
                                 "manifest records 5000 bytes, the object has 4000; SHA-256 mismatch"));
    EXPECT_THAT(v.err, HasSubstr("decoded size mismatch: the manifest records 5000 raw bytes, decoding gave 4000"));
}

}  // namespace
}  // namespace backhaul::testing
