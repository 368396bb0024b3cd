// Deletion safety through the real binary (issue 12): retention deletes only this pipeline's complete backups, an
// empty or shrunken run never pushes good backups out, a run never replaces an object, outcomes around the commit are
// truthful, and the lock does not depend on the caller's environment.
#include <signal.h>

#include <thread>

#include "ops_fixture.hpp"
#include "prometheus_text.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The destination fingerprint as docs/retention.md defines it, computed here with sha256sum, not the core's code.
std::string destination_of(const std::string& sink_plugin, const std::string& key_template) {
    TempDir dir;
    write_file(dir / "identity", "backhaul-destination/1\n" + sink_plugin + "\n" + key_template + "\n");
    return run_command({"sha256sum", (dir / "identity").string()}).out.substr(0, 16);
}

std::string marker_text(const std::string& pipeline, const std::string& destination, const std::string& key) {
    return nlohmann::json{{"format", "backhaul-pending/1"},
                          {"pipeline", pipeline},
                          {"destination", destination},
                          {"key", key},
                          {"started_unix_ms", 0}}
        .dump();
}

class DeletionSafetyTest : public OpsTest {};

// ---- Ownership ------------------------------------------------------------------------------------------------------

TEST_F(DeletionSafetyTest, TwoPipelinesSharingADirectoryAndKeyTemplateNeverDeleteEachOthersBackups) {
    // The seed example's shape: no {pipeline} in the key, so both pipelines' keys match both templates.
    const std::string key = "db/%Y%m%d-%H%M%S{ext}";
    auto orders =
        pipeline(cat_source(), gzip, local_sink(key), "[retention]\nkeep_last = 1\nmin_keep = 0\n", "", "orders");
    auto users =
        pipeline(cat_source(), gzip, local_sink(key), "[retention]\nkeep_last = 1\nmin_keep = 0\n", "", "users");
    plant("db/20200101-030000.gz", true, "u1", "users");
    plant("db/20200102-030000.gz", true, "u2", "users");
    plant("db/20200103-030000.gz", true, "o1", "orders");
    CommandResult run = backhaul({"run", orders.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("retention: deleted 'db/20200103-030000.gz' (no rule keeps it)"));
    EXPECT_THAT(run.err, HasSubstr("retention: kept 3, deleted 1"));
    std::vector<std::string> files = files_below(sink_dir());
    EXPECT_THAT(files, ::testing::IsSupersetOf({"db/20200101-030000.gz", "db/20200101-030000.gz.manifest.json",
                                                "db/20200102-030000.gz", "db/20200102-030000.gz.manifest.json"}));
    EXPECT_THAT(files, Not(::testing::Contains("db/20200103-030000.gz")));

    CommandResult prune = backhaul({"prune", users.string()});
    ASSERT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_THAT(prune.out, HasSubstr("delete  db/20200101-030000.gz  (no rule keeps it)"));
    EXPECT_THAT(prune.out, HasSubstr("(foreign: manifest of pipeline 'orders'; never deleted)"));
    EXPECT_THAT(files_below(sink_dir()), ::testing::Contains(::testing::MatchesRegex("db/20[0-9]{6}-[0-9]{6}\\.gz")));
    CommandResult list = backhaul({"list", users.string(), "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    nlohmann::json j = nlohmann::json::parse(list.out);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["status"], "foreign");  // orders' new backup
    EXPECT_EQ(j[1]["key"], "db/20200102-030000.gz");
    EXPECT_EQ(j[1]["status"], "complete");
}

TEST_F(DeletionSafetyTest, TheManifestRecordsTheOwnerAndADifferentDestinationIsForeign) {
    const std::string key = "{pipeline}/%Y%m%d-%H%M%S{ext}";
    auto file = pipeline(cat_source(), gzip, local_sink(key), "[retention]\nkeep_last = 1\nmin_keep = 0\n");
    // Same name and key, written by another sink plugin: not this destination's.
    write_file(sink_dir() / "ops/20200101-030000.gz", "x");
    nlohmann::json other = nlohmann::json::parse(manifest_text("ops", "ops/20200101-030000.gz", 1));
    other["destination"] = destination_of("sink-other", key);
    write_file(sink_dir() / "ops/20200101-030000.gz.manifest.json", other.dump());
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::vector<std::string> files = files_below(sink_dir());
    ASSERT_EQ(files.size(), 4u) << ::testing::PrintToString(files);
    const std::string new_key = files[2];  // after the planted 2020 one and its manifest
    EXPECT_EQ(manifest_of(new_key)["destination"], destination_of("sink-local", key));
    EXPECT_EQ(manifest_of(new_key)["pipeline"], "ops");
    EXPECT_TRUE(std::filesystem::exists(sink_dir() / "ops/20200101-030000.gz"));
    EXPECT_THAT(run.err, HasSubstr("1 object(s) under the key template are not complete backups of this pipeline "
                                   "(0 incomplete, 0 without manifest, 1 of other pipelines)"));
}

TEST_F(DeletionSafetyTest, ObjectsWithoutAManifestOfOursAreNeverDeletedAndEveryRunWarnsAndCountsThem) {
    auto file = pipeline(cat_source(), gzip, local_sink(),
                         "[retention]\nkeep_last = 1\nmin_keep = 0\nincomplete_after = \"1s\"\n");
    plant("ops/20200101-030000.gz", false, "put here by hand");
    write_file(sink_dir() / "ops/20200102-030000.gz", "another tool's export");
    write_file(sink_dir() / "ops/20200102-030000.gz.manifest.json", "{\"not\": \"ours\"}");
    const std::filesystem::path metrics = tmp_ / "m.prom";
    CommandResult run = backhaul({"run", file.string(), "--metrics-file", metrics.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("2 object(s) under the key template are not complete backups of this pipeline "
                                   "(0 incomplete, 1 without manifest, 1 of other pipelines); retention never deletes "
                                   "them by itself"));
    EXPECT_EQ(parse_prometheus(read_file(metrics))["backhaul_untouched_objects{pipeline=\"ops\"}"], 2);
    CommandResult prune = backhaul({"prune", file.string(), "--delete-incomplete"});
    ASSERT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_EQ(read_file(sink_dir() / "ops/20200101-030000.gz"), "put here by hand");
    EXPECT_EQ(read_file(sink_dir() / "ops/20200102-030000.gz"), "another tool's export");
    EXPECT_THAT(prune.out, HasSubstr("keep    ops/20200102-030000.gz  (foreign: manifest cannot be read: manifest has "
                                     "no 'format'; never deleted)"));
}

TEST_F(DeletionSafetyTest, DeleteIncompleteRemovesOnlyWhatThisPipelinesOwnRunLeft) {
    const std::string key = "{pipeline}/%Y%m%d-%H%M%S{ext}";
    auto file = pipeline(cat_source(), gzip, local_sink(key), "[retention]\nkeep_last = 5\n");
    plant("ops/20200105-030000.gz");
    // A crash between commit and manifest: data and this pipeline's marker.
    write_file(sink_dir() / "ops/20200104-030000.gz", "left by our crashed run");
    write_file(sink_dir() / "ops/20200104-030000.gz.pending.json",
               marker_text("ops", destination_of("sink-local", key), "ops/20200104-030000.gz"));
    // The same with another pipeline's marker, and a marker that names another key: not ours to remove.
    write_file(sink_dir() / "ops/20200103-030000.gz", "theirs");
    write_file(sink_dir() / "ops/20200103-030000.gz.pending.json",
               marker_text("users", destination_of("sink-local", key), "ops/20200103-030000.gz"));
    write_file(sink_dir() / "ops/20200102-030000.gz", "copied marker");
    write_file(sink_dir() / "ops/20200102-030000.gz.pending.json",
               marker_text("ops", destination_of("sink-local", key), "ops/20200101-030000.gz"));
    // This pipeline's marker whose upload never became visible: metadata without data.
    write_file(sink_dir() / "ops/20200101-030000.gz.pending.json",
               marker_text("ops", destination_of("sink-local", key), "ops/20200101-030000.gz"));

    CommandResult plain = backhaul({"prune", file.string(), "--dry-run"});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_THAT(plain.out, HasSubstr("keep    ops/20200104-030000.gz  (incomplete (this pipeline's run left it without "
                                     "manifest); `prune --delete-incomplete` removes it once older than 24h00m00s)"));

    CommandResult prune = backhaul({"prune", file.string(), "--delete-incomplete"});
    ASSERT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_THAT(prune.out, HasSubstr("delete  ops/20200104-030000.gz  (incomplete (this pipeline's run left it "
                                     "without manifest) for more than 24h00m00s)"));
    EXPECT_THAT(files_below(sink_dir()), ElementsAre("ops/20200102-030000.gz", "ops/20200102-030000.gz.pending.json",
                                                     "ops/20200103-030000.gz", "ops/20200103-030000.gz.pending.json",
                                                     "ops/20200105-030000.gz", "ops/20200105-030000.gz.manifest.json"));
}

TEST_F(DeletionSafetyTest, ARunWhoseManifestFailsLeavesItsMarkerAsProof) {
    auto file = pipeline(cat_source(), gzip,
                         "plugin = \"sink-faulty\"\nfail_at = \"manifest\"\npath = \"" + sink_dir().string() +
                             "\"\nkey = \"{pipeline}/%Y%m%d-%H%M%S{ext}\"\n");
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("run failed, backup data committed without its manifest (incomplete)"));
    const std::string key = only_data_key();
    ASSERT_THAT(key, ::testing::MatchesRegex("ops/20[0-9]{6}-[0-9]{6}\\.gz"));
    nlohmann::json marker = nlohmann::json::parse(read_file(sink_dir() / (key + ".pending.json")));
    EXPECT_EQ(marker["format"], "backhaul-pending/1");
    EXPECT_EQ(marker["pipeline"], "ops");
    EXPECT_EQ(marker["key"], key);
    EXPECT_EQ(marker["destination"], destination_of("sink-faulty", "{pipeline}/%Y%m%d-%H%M%S{ext}"));
}

TEST_F(DeletionSafetyTest, PruneRefusesWhenBackupsOfTheSameNameCarryDifferentKeyVariables) {
    // Two pipelines copied from one file without renaming: same name, different {database}.
    // prune never opens the source: source-postgres is here for its {database} variable only.
    auto file =
        pipeline("plugin = \"source-postgres\"\ndatabase = \"orders\"\n", gzip,
                 local_sink("{pipeline}/{database}_%Y%m%d-%H%M%S{ext}"), "[retention]\nkeep_last = 1\nmin_keep = 0\n");
    for (const auto& [key, db] :
         {std::pair{"ops/orders_20200101-030000.gz", "orders"}, std::pair{"ops/users_20200102-030000.gz", "users"}}) {
        write_file(sink_dir() / key, "x");
        nlohmann::json m = nlohmann::json::parse(manifest_text("ops", key, 1));
        m["variables"] = {{"database", db}, {"pipeline", "ops"}, {"ext", ".gz"}, {"server_version", db}};
        write_file(sink_dir() / (std::string(key) + ".manifest.json"), m.dump());
    }
    auto before = files_below(sink_dir());
    CommandResult prune = backhaul({"prune", file.string()});
    EXPECT_EQ(prune.exit_code, 1);
    EXPECT_THAT(prune.err,
                HasSubstr("carry different key variables ({database}=orders; {database}=users): more than one pipeline "
                          "uses this name and key template"));
    EXPECT_EQ(files_below(sink_dir()), before);
}

// ---- Empty and shrunken backups
// ---------------------------------------------------------------------------------------

TEST_F(DeletionSafetyTest, ASourceThatWritesNothingFailsAndCommitsNothing) {
    auto file = pipeline(shell_source("true"), gzip, local_sink(), "[retention]\nkeep_last = 1\nmin_keep = 0\n");
    plant("ops/20200101-030000.gz", true, "the only real backup");
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("source (source-command): produced no data (0 bytes), which is treated as a "
                                   "failure; nothing committed (set allow_empty = true"));
    EXPECT_THAT(run.err, HasSubstr("run failed, nothing committed"));
    EXPECT_THAT(files_below(sink_dir()), ElementsAre("ops/20200101-030000.gz", "ops/20200101-030000.gz.manifest.json"));

    auto allowed = pipeline(shell_source("true"), gzip, local_sink(), "", "allow_empty = true\n");
    CommandResult ok = backhaul({"run", allowed.string()});
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    std::vector<std::string> files = files_below(sink_dir());
    ASSERT_EQ(files.size(), 4u);
    EXPECT_EQ(manifest_of(files[2])["raw_bytes"], 0);
}

TEST_F(DeletionSafetyTest, AShrunkenBackupIsKeptReportedAndTakesNoSlot) {
    auto file = pipeline(shell_source("echo tiny"), gzip, local_sink(), "[retention]\nkeep_last = 2\nmin_keep = 0\n");
    plant("ops/20200101-030000.gz", true, std::string(10000, 'a'));
    plant("ops/20200102-030000.gz", true, std::string(10000, 'b'));
    const std::filesystem::path metrics = tmp_ / "m.prom";
    CommandResult run = backhaul({"run", file.string(), "--metrics-file", metrics.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("is shrunken: 5 B raw is below 50% of the 9.8 KiB of 'ops/20200102-030000.gz'; it "
                                   "is kept and takes no keep_* slot"));
    EXPECT_EQ(parse_prometheus(read_file(metrics))["backhaul_last_run_shrunken{pipeline=\"ops\"}"], 1);
    EXPECT_THAT(run.err, HasSubstr("retention: kept 3, deleted 0"));
    // A second tiny run is shrunken against the same good baseline: still nothing rotates out.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a new key second
    CommandResult again = backhaul({"run", file.string()});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_THAT(again.err, HasSubstr("retention: kept 4, deleted 0"));
    CommandResult dry = backhaul({"prune", file.string(), "--dry-run"});
    EXPECT_THAT(dry.out, HasSubstr("keep    ops/20200102-030000.gz  (last #1)"));
    EXPECT_THAT(dry.out, HasSubstr("keep    ops/20200101-030000.gz  (last #2)"));
}

// ---- Never overwrite, truthful outcomes -----------------------------------------------------------------------------

TEST_F(DeletionSafetyTest, ARunNeverReplacesAnExistingObjectUnderItsKey) {
    auto file = pipeline(cat_source(), gzip, local_sink("{pipeline}/fixed{ext}"));
    plant("ops/fixed.gz", false, "precious");
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("sink: key 'ops/fixed.gz' already exists; a run never replaces an object"));
    EXPECT_EQ(read_file(sink_dir() / "ops/fixed.gz"), "precious");
    EXPECT_THAT(files_below(sink_dir()), ElementsAre("ops/fixed.gz"));
}

TEST_F(DeletionSafetyTest, ASigtermDuringTheCommitFinishesTheCommitAndSaysSo) {
    auto file = pipeline(cat_source(), gzip,
                         "plugin = \"sink-faulty\"\nfail_at = \"sigterm_in_commit\"\npath = \"" + sink_dir().string() +
                             "\"\nkey = \"{pipeline}/%Y%m%d-%H%M%S{ext}\"\n",
                         "[retention]\nkeep_last = 1\nmin_keep = 0\n");
    plant("ops/20200101-030000.gz");
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("is complete, but the run was then stopped (interrupted by SIGTERM); retention did "
                                   "not run"));
    EXPECT_THAT(run.err, HasSubstr("run failed after the backup was committed"));
    EXPECT_THAT(run.err, Not(HasSubstr("nothing committed")));
    std::vector<std::string> files = files_below(sink_dir());
    ASSERT_EQ(files.size(), 4u) << ::testing::PrintToString(files);  // no marker left: the manifest was written
    EXPECT_EQ(files[0], "ops/20200101-030000.gz");                   // retention did not run
    EXPECT_TRUE(std::filesystem::exists(sink_dir() / (files[2] + ".manifest.json"))) << files[2];
}

TEST_F(DeletionSafetyTest, AFailedRunReportsStoredZeroWhenNothingWasCommitted) {
    auto file = pipeline(shell_source("head -c 100000 /dev/urandom; exit 3"), "", local_sink());
    const std::filesystem::path metrics = tmp_ / "m.prom";
    CommandResult run = backhaul({"run", file.string(), "--metrics-file", metrics.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, ::testing::ContainsRegex("run failed, nothing committed: pipeline=ops key=[^ ]+ raw=97.7 KiB "
                                                  "stored=0 B"));
    EXPECT_EQ(parse_prometheus(read_file(metrics))["backhaul_last_run_stored_bytes{pipeline=\"ops\"}"], 0);
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

// ---- The lock -------------------------------------------------------------------------------------------------------

TEST_F(DeletionSafetyTest, TheLockCollidesWhateverTheCallersEnvironment) {
    // cron has no XDG_RUNTIME_DIR, a login shell has one: the same pipeline must still collide. The default lock
    // directory is used (no lock_dir); the lock's name is unique to this test's sink directory.
    auto file = pipeline(gated_source(), gzip, local_sink(), "", "", "ops", "");
    TempDir runtime;
    CommandResult first;
    CommandOptions from_cron;
    from_cron.env = {{"XDG_RUNTIME_DIR", ""}};
    std::thread holder([&] { first = backhaul({"run", file.string()}, from_cron); });
    // Find our lock among whatever else the default directory holds: the name is "ops-<hash>.lock", and ours is the
    // one whose holder appears while our run blocks.
    const std::string holder_text = wait_for_lock_holder("/run/backhaul", "ops-");
    CommandOptions from_shell;
    from_shell.env = {{"XDG_RUNTIME_DIR", runtime.path().string()}};
    // The same pipeline (name, sink, key: the lock's identity) with a source that does not block, so that a second
    // run which wrongly got a lock of its own ends instead of waiting on the gate.
    auto same = pipeline(cat_source(), gzip, local_sink(), "", "", "ops", "");
    CommandResult second = backhaul({"run", same.string()}, from_shell);
    open_gate();
    holder.join();
    EXPECT_FALSE(holder_text.empty());
    EXPECT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(second.exit_code, 4) << second.err;
    EXPECT_THAT(second.err, HasSubstr("is already running"));
}

TEST_F(DeletionSafetyTest, PruneTakesTheLock) {
    auto file = pipeline(gated_source(), gzip, local_sink(), "[retention]\nkeep_last = 1\n");
    CommandResult first;
    std::thread holder([&] { first = backhaul({"run", file.string()}); });
    wait_for_lock_holder(lock_dir());
    CommandResult prune = backhaul({"prune", file.string()});
    open_gate();
    holder.join();
    EXPECT_EQ(prune.exit_code, 4) << prune.err;
    EXPECT_EQ(first.exit_code, 0) << first.err;
}

}  // namespace
}  // namespace backhaul::testing
