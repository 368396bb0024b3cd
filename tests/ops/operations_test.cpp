// Operating backups through the real binary against sink-local: manifests, verify, list, retention (prune and after
// a run), the lock, the timeout, the metrics file, the progress line and the summary line.
#include <thread>

#include "ops_fixture.hpp"
#include "prometheus_text.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// ---- Manifest -------------------------------------------------------------------------------------------------------

TEST_F(OpsTest, ManifestRecordsTheRunAndTheSha256OfTheStoredBytes) {
    auto file = pipeline(cat_source(), gzip, local_sink());
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::string key = only_data_key();
    ASSERT_THAT(key, ::testing::MatchesRegex("ops/20[0-9]{6}-[0-9]{6}\\.gz"));
    nlohmann::json m = manifest_of(key);
    EXPECT_EQ(m["format"], "backhaul-manifest/1");
    EXPECT_EQ(m["pipeline"], "ops");
    EXPECT_EQ(m["key"], key);
    EXPECT_EQ(m["raw_bytes"], input_.size());
    EXPECT_EQ(m["stored_bytes"], std::filesystem::file_size(sink_dir() / key));
    EXPECT_EQ(m["sha256"], sha256_of(sink_dir() / key));
    EXPECT_LE(m["started_unix_ms"].get<int64_t>(), m["finished_unix_ms"].get<int64_t>());
    EXPECT_EQ(m["duration_ms"], m["finished_unix_ms"].get<int64_t>() - m["started_unix_ms"].get<int64_t>());
    ASSERT_EQ(m["stages"].size(), 3u);
    EXPECT_EQ(m["stages"][0]["role"], "source");
    EXPECT_EQ(m["stages"][0]["plugin"], "source-command");
    EXPECT_EQ(m["stages"][0]["options"]["command"], "[cat, " + (tmp_ / "input.txt").string() + "]");
    EXPECT_EQ(m["stages"][1]["role"], "transform[0]");
    EXPECT_EQ(m["stages"][1]["plugin"], "compress-gzip");
    EXPECT_EQ(m["stages"][1]["version"], "0.1.0");
    EXPECT_EQ(m["stages"][1]["options"]["level"], "6");
    EXPECT_EQ(m["stages"][2]["plugin"], "sink-local");
    EXPECT_EQ(m["variables"]["pipeline"], "ops");
    EXPECT_EQ(m["variables"]["ext"], ".gz");
}

TEST_F(OpsTest, ManifestFailureFailsTheRunAndSaysTheBackupIsIncomplete) {
    auto file = pipeline(
        cat_source(), gzip,
        "plugin = \"sink-faulty\"\nfail_at = \"manifest\"\npath = \"" + sink_dir().string() + "\"\nkey = \"k\"\n");
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("error run failed: backup data committed under 'k' but its manifest could not be "
                                   "written; the backup is incomplete: sink (sink-faulty): injected manifest failure"));
    // The pending marker stays: it proves this pipeline left the incomplete backup (prune --delete-incomplete).
    EXPECT_THAT(files_below(sink_dir()), ElementsAre("k", "k.pending.json"));
}

// ---- Verify ---------------------------------------------------------------------------------------------------------

class VerifyTest : public OpsTest {
  protected:
    std::string backup(const std::string& transforms) {
        file_ = pipeline(cat_source(), transforms, local_sink());
        CommandResult run = backhaul({"run", file_.string()});
        EXPECT_EQ(run.exit_code, 0) << run.err;
        return only_data_key();
    }
    void overwrite(const std::string& key, const std::string& data) {
        std::filesystem::permissions(sink_dir() / key, std::filesystem::perms::owner_write,
                                     std::filesystem::perm_options::add);
        write_file(sink_dir() / key, data);
    }
    std::filesystem::path file_;
};

TEST_F(VerifyTest, AGoodBackupVerifiesThroughTheDecodeChain) {
    std::string key = backup(gzip);
    CommandResult v = backhaul({"verify", file_.string(), "--key", key});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    EXPECT_THAT(v.out, HasSubstr("verified '" + key + "': "));
    EXPECT_THAT(v.out, HasSubstr("SHA-256 " + sha256_of(sink_dir() / key) + " matches its manifest"));
    CommandResult latest = backhaul({"verify", "--latest", file_.string()});
    EXPECT_EQ(latest.exit_code, 0) << latest.err;
    EXPECT_THAT(latest.out, HasSubstr("verified '" + key + "'"));
}

TEST_F(VerifyTest, AFlippedByteIsASha256Mismatch) {
    std::string key = backup("");
    std::string data = read_file(sink_dir() / key);
    std::string manifest_sha = sha256_of(sink_dir() / key);
    data[data.size() / 2] ^= 0x01;
    overwrite(key, data);
    CommandResult v = backhaul({"verify", file_.string(), "--key", key});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err, HasSubstr("error verify '" + key + "': SHA-256 mismatch: the manifest records " + manifest_sha +
                                 ", the object hashes to " + sha256_of(sink_dir() / key) + "\n"));
}

TEST_F(VerifyTest, AFlippedByteInAGzipBackupNamesTheHashAndTheDecoder) {
    std::string key = backup(gzip);
    std::string data = read_file(sink_dir() / key);
    data[data.size() / 2] ^= 0x40;
    overwrite(key, data);
    CommandResult v = backhaul({"verify", file_.string(), "--key", key});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err, HasSubstr("verify '" + key + "': SHA-256 mismatch: the manifest records "));
    EXPECT_THAT(v.err, HasSubstr("; decoding failed: transform[0] (compress-gzip): "));
}

TEST_F(VerifyTest, ATruncatedObjectIsASizeMismatch) {
    std::string key = backup(gzip);
    std::string data = read_file(sink_dir() / key);
    overwrite(key, data.substr(0, data.size() - 100));
    CommandResult v = backhaul({"verify", file_.string(), "--latest"});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err,
                HasSubstr("verify '" + key + "': size mismatch: the manifest records " + std::to_string(data.size()) +
                          " bytes, the object has " + std::to_string(data.size() - 100) + "; SHA-256 mismatch"));
}

TEST_F(VerifyTest, ABackupWithoutManifestIsIncomplete) {
    std::string key = backup(gzip);
    std::filesystem::remove(sink_dir() / (key + ".manifest.json"));
    CommandResult v = backhaul({"verify", file_.string(), "--key", key});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err, HasSubstr("verify '" + key +
                                 "': cannot read its manifest, so the backup is incomplete: sink "
                                 "(sink-local): object '" +
                                 key + ".manifest.json' not found"));
    CommandResult latest = backhaul({"verify", file_.string()});
    EXPECT_EQ(latest.exit_code, 1);
    EXPECT_THAT(latest.err, HasSubstr("verify: pipeline 'ops' has no complete backup in the sink"));
}

// ---- List -----------------------------------------------------------------------------------------------------------

TEST_F(OpsTest, ListShowsThisPipelinesBackupsNewestFirstWithTheirStatus) {
    auto file = pipeline(cat_source(), gzip, local_sink());
    plant("ops/20250101-030000.gz", true, "12345");
    plant("ops/20250103-030000.gz", false, "123");
    plant("ops/20250102-030000.gz", true, "1234");
    plant("ops/notes.txt");             // not a key of this template
    plant("other/20250104-030000.gz");  // another pipeline's
    CommandResult list = backhaul({"list", file.string()});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out,
              "KEY                     TIME (UTC)                STORED  STATUS\n"
              "ops/20250103-030000.gz  2025-01-03T03:00:00Z         3 B  unknown  no manifest and no pending marker "
              "of this pipeline\n"
              "ops/20250102-030000.gz  2025-01-02T03:00:00Z         4 B  complete\n"
              "ops/20250101-030000.gz  2025-01-01T03:00:00Z         5 B  complete\n");
    CommandResult json = backhaul({"list", file.string(), "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    nlohmann::json j = nlohmann::json::parse(json.out);
    ASSERT_EQ(j.size(), 3u);
    EXPECT_EQ(j[0], nlohmann::json::parse(
                        R"({"key": "ops/20250103-030000.gz", "sink": "local", "time": "2025-01-03T03:00:00Z",
        "time_unix_ms": 1735873200000, "stored_bytes": 3, "status": "unknown",
        "note": "no manifest and no pending marker of this pipeline"})"));
    EXPECT_EQ(j[2]["status"], "complete");
    EXPECT_EQ(j[2]["raw_bytes"], 5);
}

// ---- Retention ------------------------------------------------------------------------------------------------------

TEST_F(OpsTest, PruneDryRunPrintsKeepAndDeleteWithReasonsAndDeletesNothing) {
    auto file = pipeline(cat_source(), gzip, local_sink(), "[retention]\nkeep_daily = 2\nkeep_monthly = 2\n");
    plant("ops/20250103-030000.gz");
    plant("ops/20250102-150000.gz");
    plant("ops/20250102-030000.gz");
    plant("ops/20241231-030000.gz");
    plant("ops/20241130-030000.gz");
    plant("ops/20241102-030000.gz", false);  // no manifest, long ago: not provably ours, never deleted
    auto before = files_below(sink_dir());
    CommandResult dry = backhaul({"prune", file.string(), "--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_EQ(dry.out,
              "keep    ops/20250103-030000.gz  (daily 2025-01-03, monthly 2025-01)\n"
              "keep    ops/20250102-150000.gz  (daily 2025-01-02)\n"
              "would delete ops/20250102-030000.gz  (no rule keeps it)\n"
              "keep    ops/20241231-030000.gz  (monthly 2024-12)\n"
              "would delete ops/20241130-030000.gz  (no rule keeps it)\n"
              "keep    ops/20241102-030000.gz  (not provably this pipeline's (no manifest and no pending marker of "
              "this pipeline); never deleted)\n"
              "ops: kept 4, would delete 2\n");
    EXPECT_EQ(files_below(sink_dir()), before);

    CommandResult prune = backhaul({"prune", file.string()});
    ASSERT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_THAT(prune.out, HasSubstr("delete  ops/20250102-030000.gz  (no rule keeps it)\n"));
    EXPECT_THAT(files_below(sink_dir()),
                ElementsAre("ops/20241102-030000.gz", "ops/20241231-030000.gz", "ops/20241231-030000.gz.manifest.json",
                            "ops/20250102-150000.gz", "ops/20250102-150000.gz.manifest.json", "ops/20250103-030000.gz",
                            "ops/20250103-030000.gz.manifest.json"));
}

TEST_F(OpsTest, RetentionRunsAfterASuccessfulRunAndKeepsTheNewBackup) {
    auto file = pipeline(cat_source(), gzip, local_sink(), "[retention]\nkeep_last = 2\n");
    plant("ops/20200101-030000.gz");
    plant("ops/20200102-030000.gz");
    plant("ops/20200103-030000.gz");
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("retention: deleted 'ops/20200102-030000.gz' (no rule keeps it)"));
    EXPECT_THAT(run.err, HasSubstr("retention: kept 2, deleted 2"));
    EXPECT_THAT(files_below(sink_dir()),
                ElementsAre("ops/20200103-030000.gz", "ops/20200103-030000.gz.manifest.json",
                            ::testing::MatchesRegex("ops/20[0-9]{6}-[0-9]{6}\\.gz"),
                            ::testing::MatchesRegex("ops/20[0-9]{6}-[0-9]{6}\\.gz\\.manifest\\.json")));
}

TEST_F(OpsTest, AFailedRunNeverAppliesRetention) {
    // Peers' classic: a failed dump stored as a "backup", then retention deleted the good ones.
    auto file = pipeline(shell_source("echo partial; exit 1"), gzip, local_sink(), "[retention]\nkeep_last = 1\n");
    plant("ops/20200101-030000.gz");
    plant("ops/20200102-030000.gz");
    auto before = files_below(sink_dir());
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, Not(HasSubstr("retention")));
    EXPECT_EQ(files_below(sink_dir()), before);
}

TEST_F(OpsTest, InvalidRetentionIsAValidationErrorWithPosition) {
    auto file = pipeline(cat_source(), gzip, local_sink(), "[retention]\nkeep_daily = \"7\"\n");
    CommandResult v = backhaul({"validate", file.string()});
    EXPECT_EQ(v.exit_code, 2);
    EXPECT_THAT(v.err, HasSubstr(file.string() + ":19:14: retention: 'keep_daily' must be an integer, got string"));
}

// ---- Lock and timeout -----------------------------------------------------------------------------------------------

TEST_F(OpsTest, ASecondConcurrentRunExitsFourNamingTheHolder) {
    auto file = pipeline(gated_source(), gzip, local_sink());
    CommandResult first;
    std::thread holder([&] { first = backhaul({"run", file.string()}); });
    std::string holder_text = wait_for_lock_holder(lock_dir());
    CommandResult second = backhaul({"run", file.string()});
    open_gate();
    holder.join();
    EXPECT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(second.exit_code, 4) << second.err;
    ASSERT_THAT(holder_text, ::testing::MatchesRegex("pid [0-9]+, started 20[0-9-]+T[0-9:]+Z\n"));
    holder_text.pop_back();
    EXPECT_THAT(second.err, HasSubstr("error pipeline 'ops' is already running (" + holder_text + "; lock file " +
                                      lock_dir().string() + "/ops-"));
    EXPECT_EQ(files_below(sink_dir()).size(), 2u);  // the first run's backup and manifest only
}

TEST_F(OpsTest, ALockLeftByADeadProcessIsFree) {
    auto file = pipeline(cat_source(), gzip, local_sink());
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);  // creates the lock file
    auto locks = files_below(lock_dir());
    ASSERT_EQ(locks.size(), 1u);
    write_file(lock_dir() / locks[0], "pid 999999, started 2020-01-01T00:00:00Z\n");  // a holder that is gone
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));                     // a new key second
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST_F(OpsTest, TimeoutCancelsTheRunAndLeavesNothing) {
    auto file = pipeline(shell_source("while :; do head -c 65536 /dev/zero; sleep 0.05; done"), gzip, local_sink(), "",
                         "timeout = \"1s\"\n");
    auto t0 = std::chrono::steady_clock::now();
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: timed out after 1.00s (the pipeline's timeout)"));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

// ---- Metrics, progress, summary
// ---------------------------------------------------------------------------------------

TEST_F(OpsTest, MetricsFileParsesAndCarriesTheLastSuccessAcrossFailures) {
    auto good = pipeline(cat_source(), gzip, local_sink());
    std::filesystem::path metrics = tmp_ / "backhaul-ops.prom";
    ASSERT_EQ(backhaul({"run", good.string(), "--metrics-file", metrics.string()}).exit_code, 0);
    auto first = parse_prometheus(read_file(metrics));
    const std::string l = "{pipeline=\"ops\"}";
    EXPECT_EQ(first["backhaul_last_run_success" + l], 1);
    EXPECT_EQ(first["backhaul_last_run_raw_bytes" + l], static_cast<double>(input_.size()));
    EXPECT_EQ(first["backhaul_last_run_stored_bytes" + l],
              static_cast<double>(std::filesystem::file_size(sink_dir() / only_data_key())));
    EXPECT_EQ(first["backhaul_last_success_timestamp_seconds" + l], first["backhaul_last_run_timestamp_seconds" + l]);
    EXPECT_EQ(first["backhaul_last_run_streams" + l], 1);
    // The one sink, by its default name: it holds the copy.
    EXPECT_EQ(first["backhaul_last_run_sink_complete{pipeline=\"ops\",sink=\"local\"}"], 1);
    EXPECT_EQ(first.size(), 10u);

    auto bad = pipeline(shell_source("exit 1"), gzip, local_sink());
    ASSERT_EQ(backhaul({"run", bad.string(), "--metrics-file", metrics.string()}).exit_code, 1);
    auto second = parse_prometheus(read_file(metrics));
    EXPECT_EQ(second["backhaul_last_run_success" + l], 0);
    EXPECT_EQ(second["backhaul_last_success_timestamp_seconds" + l],
              first["backhaul_last_success_timestamp_seconds" + l]);
    EXPECT_GT(second["backhaul_last_run_timestamp_seconds" + l], first["backhaul_last_run_timestamp_seconds" + l]);
    // Written by rename: no temp file is left next to it.
    EXPECT_THAT(files_below(tmp_.path()), Not(::testing::Contains(HasSubstr(".tmp-"))));
}

TEST_F(OpsTest, AFailedRunEndsWithASummaryLine) {
    auto file = pipeline(shell_source("head -c 1000 /dev/zero; exit 1"), "", local_sink());
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(
        run.err,
        ::testing::MatchesRegex(
            ".*error run failed, nothing committed: pipeline=ops key=ops/[0-9]{8}-[0-9]{6} raw=1000 B stored=0 B "
            "ratio=[0-9.]+ duration=[0-9.]+s\n$"));
}

TEST_F(OpsTest, ProgressLineOnlyOnATerminal) {
    auto file = pipeline(shell_source("head -c 100000 /dev/zero; sleep 1.5"), gzip, local_sink());
    CommandResult plain = backhaul({"run", file.string()});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_THAT(plain.err, Not(HasSubstr("\r")));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a new key second
    // script(1) gives the run a pseudo-terminal as stderr.
    CommandResult tty =
        run_command({"script", "-qec", std::string(BACKHAUL_BINARY) + " run " + file.string(), "/dev/null"});
    ASSERT_EQ(tty.exit_code, 0) << tty.out;
    EXPECT_THAT(tty.out, HasSubstr("\r\x1b[Kread 97.7 KiB, stored "));
}

}  // namespace
}  // namespace backhaul::testing
