// Operating backups through the real binary against sink-ncloud-s3 on Swift's s3api: list (paginated), verify and
// retention, with the AWS CLI as the independent client that plants, corrupts and inspects objects. Every test uses its
// own pipeline name, so the tests share one bucket (and one Swift server) but never a key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command_runner.hpp"
#include "fault_proxy.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr const char* kBucket = "operations";

class SwiftOpsTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { SwiftS3::instance().create_bucket(kBucket); }

    SwiftS3& s3() { return SwiftS3::instance(); }

    // Pipeline `name`: cat input.txt -> [transforms] -> sink-ncloud-s3 at `endpoint` (Swift itself by default), keys
    // "<name>/<YYYYmmdd-HHMMSS><ext>"; `tables` ([retention]) go after the sink.
    std::filesystem::path pipeline(const std::string& name, const std::string& transforms,
                                   const std::string& sink_options = "", const std::string& tables = "",
                                   const std::string& endpoint = "") {
        write_file(tmp_ / "input.txt", input_);
        std::string text = "name = \"" + name + "\"\nlock_dir = \"" + (tmp_ / "locks").string() +
                           "\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"cat\", \"" +
                           (tmp_ / "input.txt").string() + "\"]\n\n" + transforms +
                           "\n[sink]\nplugin = \"sink-ncloud-s3\"\nendpoint = \"" +
                           (endpoint.empty() ? s3().endpoint() : endpoint) + "\"\nregion = \"" + SwiftS3::region +
                           "\"\nbucket = \"" + kBucket + "\"\nkey = \"{pipeline}/%Y%m%d-%H%M%S{ext}\"\n" +
                           "access_key = \"${env:S3_ACCESS_KEY}\"\nsecret_key = \"${env:S3_SECRET_KEY}\"\n" +
                           sink_options + "\n" + tables;
        std::filesystem::path file = tmp_ / (name + ".toml");
        write_file(file, text);
        return file;
    }
    static inline const std::string gzip = "[[transform]]\nplugin = \"compress-gzip\"\n";

    CommandResult backhaul(std::vector<std::string> args) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        CommandOptions options;
        options.env = {{"S3_ACCESS_KEY", SwiftS3::admin.access_key}, {"S3_SECRET_KEY", SwiftS3::admin.secret_key}};
        return run_command(args, options);
    }

    // Backups as a real run would leave them, at chosen times: data, and a manifest unless incomplete. Uploaded by
    // one AWS CLI call (each call costs about a second).
    struct Planted {
        std::string key;
        bool complete = true;
        std::string data = "data";
        bool marker = false;  // an incomplete backup with its pipeline's pending marker: a run crashed after commit
    };
    // A pending marker as a run writes it, its destination fingerprint computed here with sha256sum
    // (docs/retention.md), not with the core's code.
    std::string marker_text(const std::string& key) {
        write_file(tmp_ / "identity", "backhaul-destination/1\nsink-ncloud-s3\n{pipeline}/%Y%m%d-%H%M%S{ext}\n");
        const std::string destination = run_command({"sha256sum", (tmp_ / "identity").string()}).out.substr(0, 16);
        return nlohmann::json{{"format", "backhaul-pending/1"},
                              {"pipeline", key.substr(0, key.find('/'))},
                              {"destination", destination},
                              {"key", key},
                              {"started_unix_ms", 0}}
            .dump();
    }
    // A manifest of the pipeline named by the key's first segment (the template is "{pipeline}/..."), in the form
    // manifests had before they recorded a destination.
    static std::string manifest_text(const std::string& key, size_t raw_bytes) {
        return nlohmann::json{{"format", "backhaul-manifest/1"},
                              {"pipeline", key.substr(0, key.find('/'))},
                              {"key", key},
                              {"started_unix_ms", 0},
                              {"finished_unix_ms", 0},
                              {"duration_ms", 0},
                              {"raw_bytes", raw_bytes},
                              {"stored_bytes", raw_bytes},
                              {"sha256", ""}}
            .dump();
    }
    void plant(const std::vector<Planted>& backups) {
        std::filesystem::path dir = tmp_ / "plant";
        for (const Planted& b : backups) {
            std::filesystem::create_directories((dir / b.key).parent_path());
            write_file(dir / b.key, b.data);
            if (b.complete) write_file(dir / (b.key + ".manifest.json"), manifest_text(b.key, b.data.size()));
            if (b.marker) write_file(dir / (b.key + ".pending.json"), marker_text(b.key));
        }
        CommandResult copied = s3().aws(
            {"s3", "cp", "--recursive", "--only-show-errors", dir.string(), std::string("s3://") + kBucket + "/"});
        ASSERT_EQ(copied.exit_code, 0) << copied.err;
        std::filesystem::remove_all(dir);
    }

    // The keys below `prefix` in the bucket, sorted.
    std::vector<std::string> keys_below(const std::string& prefix) {
        CommandResult listed = s3().aws({"s3api", "list-objects", "--bucket", kBucket, "--prefix", prefix, "--query",
                                         "Contents[].Key", "--output", "text"});
        EXPECT_EQ(listed.exit_code, 0) << listed.err;
        std::vector<std::string> keys;
        std::istringstream words(listed.out);
        for (std::string key; words >> key;)
            if (key != "None") keys.push_back(key);
        std::sort(keys.begin(), keys.end());
        return keys;
    }

    // The one data object (not a manifest) below `prefix`.
    std::string only_data_key(const std::string& prefix) {
        std::string found;
        for (const std::string& key : keys_below(prefix))
            if (!key.ends_with(".manifest.json")) found = found.empty() ? key : "<more than one>";
        return found;
    }

    void put_object(const std::string& key, const std::string& data) {
        write_file(tmp_ / "body", data);
        CommandResult put =
            s3().aws({"s3api", "put-object", "--bucket", kBucket, "--key", key, "--body", (tmp_ / "body").string()});
        ASSERT_EQ(put.exit_code, 0) << put.err;
    }

    std::string sha256_of(const std::string& data) {
        write_file(tmp_ / "hashed", data);
        return run_command({"sha256sum", (tmp_ / "hashed").string()}).out.substr(0, 64);
    }

    TempDir tmp_;
    std::string input_ = [] {
        std::string s;
        for (int i = 0; i < 50000; ++i) s += "row " + std::to_string(i) + "\n";
        return s;
    }();
};

// ---- List -----------------------------------------------------------------------------------------------------------

TEST_F(SwiftOpsTest, ListPagesThroughTheBucketAndShowsNewestFirstWithTheirStatus) {
    // Through the proxy (which injects nothing) to count the ListObjects requests.
    FaultProxy proxy(s3().port());
    auto file = pipeline("list", gzip, "list_page_size = 2\n", "", proxy.endpoint());
    plant({{"list/20250101-030000.gz", true, "12345"},
           {"list/20250103-030000.gz", false, "123"},
           {"list/20250102-030000.gz", true, "1234"},
           {"list/notes.txt", false},               // not a key of this template
           {"listing/20250104-030000.gz", true}});  // another pipeline's
    CommandResult list = backhaul({"list", file.string()});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out,
              "KEY                      TIME (UTC)                STORED  STATUS\n"
              "list/20250103-030000.gz  2025-01-03T03:00:00Z         3 B  unknown  no manifest and no pending "
              "marker of this pipeline\n"
              "list/20250102-030000.gz  2025-01-02T03:00:00Z         4 B  complete\n"
              "list/20250101-030000.gz  2025-01-01T03:00:00Z         5 B  complete\n");
    // Six objects below "list/" in pages of two.
    std::vector<std::string> listings;
    for (const std::string& request : proxy.requests())
        if (request.find("max-keys=2") != std::string::npos) listings.push_back(request);
    ASSERT_EQ(listings.size(), 3u) << ::testing::PrintToString(proxy.requests());
    EXPECT_THAT(listings[0], HasSubstr("prefix=list%2F"));
    EXPECT_THAT(listings[1], HasSubstr("marker=list%2F20250101-030000.gz.manifest.json"));
    EXPECT_THAT(listings[2], HasSubstr("marker=list%2F20250102-030000.gz.manifest.json"));

    // A manifest lost (or never written) makes its backup not provably ours.
    CommandResult removed =
        s3().aws({"s3api", "delete-object", "--bucket", kBucket, "--key", "list/20250102-030000.gz.manifest.json"});
    ASSERT_EQ(removed.exit_code, 0) << removed.err;
    CommandResult json = backhaul({"list", file.string(), "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    nlohmann::json j = nlohmann::json::parse(json.out);
    ASSERT_EQ(j.size(), 3u);
    EXPECT_EQ(j[0]["key"], "list/20250103-030000.gz");
    EXPECT_EQ(j[1], nlohmann::json::parse(
                        R"({"key": "list/20250102-030000.gz", "sink": "ncloud-s3", "time": "2025-01-02T03:00:00Z",
        "time_unix_ms": 1735786800000, "stored_bytes": 4, "status": "unknown",
        "note": "no manifest and no pending marker of this pipeline"})"));
    EXPECT_EQ(j[2]["status"], "complete");
}

// ---- Verify ---------------------------------------------------------------------------------------------------------

class SwiftVerifyTest : public SwiftOpsTest {
  protected:
    // A real backup by pipeline `name`; returns its key.
    std::string backup(const std::string& name, const std::string& transforms) {
        file_ = pipeline(name, transforms);
        CommandResult run = backhaul({"run", file_.string()});
        EXPECT_EQ(run.exit_code, 0) << run.err;
        return only_data_key(name + "/");
    }
    std::filesystem::path file_;
};

TEST_F(SwiftVerifyTest, AGoodBackupVerifiesThroughTheDecodeChain) {
    std::string key = backup("verify-good", gzip);
    ASSERT_THAT(key, MatchesRegex("verify-good/20[0-9]{6}-[0-9]{6}\\.gz"));
    CommandResult v = backhaul({"verify", file_.string(), "--key", key});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    EXPECT_THAT(v.out, HasSubstr("verified '" + key + "': "));
    EXPECT_THAT(v.out, HasSubstr("SHA-256 " + sha256_of(s3().download(kBucket, key)) + " matches its manifest"));
    CommandResult latest = backhaul({"verify", "--latest", file_.string()});
    EXPECT_EQ(latest.exit_code, 0) << latest.err;
    EXPECT_THAT(latest.out, HasSubstr("verified '" + key + "'"));
}

TEST_F(SwiftVerifyTest, AFlippedByteIsASha256Mismatch) {
    std::string key = backup("verify-flip", "");
    std::string data = s3().download(kBucket, key);
    std::string manifest_sha = sha256_of(data);
    data[data.size() / 2] ^= 0x01;
    put_object(key, data);
    CommandResult v = backhaul({"verify", file_.string(), "--key", key});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err, HasSubstr("error verify '" + key + "': SHA-256 mismatch: the manifest records " + manifest_sha +
                                 ", the object hashes to " + sha256_of(data) + "\n"));
}

TEST_F(SwiftVerifyTest, ATruncatedObjectIsASizeMismatch) {
    std::string key = backup("verify-cut", gzip);
    std::string data = s3().download(kBucket, key);
    put_object(key, data.substr(0, data.size() - 100));
    CommandResult v = backhaul({"verify", file_.string(), "--latest"});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_THAT(v.err,
                HasSubstr("verify '" + key + "': size mismatch: the manifest records " + std::to_string(data.size()) +
                          " bytes, the object has " + std::to_string(data.size() - 100) + "; SHA-256 mismatch"));
}

// ---- Retention ------------------------------------------------------------------------------------------------------

TEST_F(SwiftOpsTest, PruneDryRunPrintsDecisionsThenPruneDeletesDataAndManifests) {
    auto file = pipeline("prune", gzip, "", "[retention]\nkeep_daily = 2\nkeep_monthly = 2\n");
    plant({{"prune/20250104-030000.gz", false, "data", true},  // newer than every complete backup, but incomplete
           {"prune/20250103-030000.gz"},
           {"prune/20250102-150000.gz"},
           {"prune/20250102-030000.gz"},
           {"prune/20241231-030000.gz"},
           {"prune/20241130-030000.gz"},
           {"prune/20241102-030000.gz", false}});  // no manifest, no marker: never deleted
    auto before = keys_below("prune/");
    ASSERT_EQ(before.size(), 13u);
    CommandResult dry = backhaul({"prune", file.string(), "--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_EQ(dry.out,
              "keep    prune/20250104-030000.gz  (incomplete (this pipeline's run left it without manifest); `prune "
              "--delete-incomplete` removes it once older than 24h00m00s)\n"
              "keep    prune/20250103-030000.gz  (daily 2025-01-03, monthly 2025-01)\n"
              "keep    prune/20250102-150000.gz  (daily 2025-01-02)\n"
              "would delete prune/20250102-030000.gz  (no rule keeps it)\n"
              "keep    prune/20241231-030000.gz  (monthly 2024-12)\n"
              "would delete prune/20241130-030000.gz  (no rule keeps it)\n"
              "keep    prune/20241102-030000.gz  (not provably this pipeline's (no manifest and no pending marker of "
              "this pipeline); never deleted)\n"
              "prune: kept 5, would delete 2\n");
    EXPECT_EQ(keys_below("prune/"), before);

    CommandResult prune = backhaul({"prune", file.string(), "--delete-incomplete"});
    ASSERT_EQ(prune.exit_code, 0) << prune.err;
    EXPECT_THAT(prune.out, HasSubstr("delete  prune/20250102-030000.gz  (no rule keeps it)\n"));
    EXPECT_THAT(prune.out, HasSubstr("prune: kept 4, deleted 3\n"));
    EXPECT_THAT(keys_below("prune/"), ElementsAre("prune/20241102-030000.gz", "prune/20241231-030000.gz",
                                                  "prune/20241231-030000.gz.manifest.json", "prune/20250102-150000.gz",
                                                  "prune/20250102-150000.gz.manifest.json", "prune/20250103-030000.gz",
                                                  "prune/20250103-030000.gz.manifest.json"));
}

TEST_F(SwiftOpsTest, RetentionAfterASuccessfulRunKeepsTheNewBackup) {
    auto file = pipeline("retain", gzip, "", "[retention]\nkeep_last = 2\n");
    plant({{"retain/20200101-030000.gz"}, {"retain/20200102-030000.gz"}, {"retain/20200103-030000.gz"}});
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("retention: deleted 'retain/20200102-030000.gz' (no rule keeps it)"));
    EXPECT_THAT(run.err, HasSubstr("retention: kept 2, deleted 2"));
    EXPECT_THAT(keys_below("retain/"),
                ElementsAre("retain/20200103-030000.gz", "retain/20200103-030000.gz.manifest.json",
                            MatchesRegex("retain/20[0-9]{6}-[0-9]{6}\\.gz"),
                            MatchesRegex("retain/20[0-9]{6}-[0-9]{6}\\.gz\\.manifest\\.json")));
}

}  // namespace
}  // namespace backhaul::testing
