// The container image (Containerfile, scripts/image) does what docs/container.md says, checked inside the image that
// image.build made: it runs as its numeric non-root user, holds backhaul, every first-party plugin and the PostgreSQL
// client, and runs a real pipeline — PostgreSQL and Swift S3 on the host's loopback (buildah's chroot isolation
// shares the host's network), the pipeline mounted read-only at /etc/backhaul and its secret file at /run/secrets —
// through validate, run, verify and restore; and with the root file system read-only and only /run/backhaul
// writable, as Kubernetes' readOnlyRootFilesystem runs it. The exported OCI archive carries the contract the
// Kubernetes example relies on (user, entrypoint, working directory).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "command_runner.hpp"
#include "postgres_fixture.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The user the image runs as: Containerfile, docs/container.md, examples/kubernetes/cronjob.yaml (runAsUser).
constexpr uid_t kImageUid = 10001;
constexpr const char* kBucket = "image-backups";
constexpr const char* kDatabase = "inventory";
constexpr const char* kRestoredDatabase = "inventory_restored";

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

class ImageSmokeTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        const std::filesystem::path made = std::filesystem::path(BACKHAUL_IMAGE_WORK_DIR) / "image.txt";
        std::istringstream lines(read_file(made));
        if (!std::getline(lines, image_) || !std::getline(lines, archive_)) {
            missing_ = "no image: image.build did not run, was skipped or failed (" + made.string() + ")";
            return;
        }
        version_ = image_.substr(image_.rfind(':') + 1);
        CommandResult from = buildah({"from", "--pull=never", "--quiet", image_});
        if (from.exit_code != 0) {
            missing_ = "buildah from " + image_ + " failed: " + from.err;
            return;
        }
        container_ = trimmed(from.out);
        postgres_ = PostgresServer::start_or_null(&error_, [](PostgresServer& server) {
            SwiftS3::instance().create_bucket(kBucket);
            server.query("postgres", std::string("CREATE DATABASE ") + kDatabase + ";");
            server.query(kDatabase, R"(
                CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, stock int, note text);
                INSERT INTO items
                    SELECT i, '품목 ' || i, i * 7 % 1000, CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('x', i % 30) END
                    FROM generate_series(1, 20000) i;)");
        });
    }
    static void TearDownTestSuite() {
        if (!container_.empty()) buildah({"rm", container_});
        postgres_.reset();
    }
    void SetUp() override {
        if (!missing_.empty()) {
            // CI builds the image (image.build fails there rather than skipping), so a missing one is a failure.
            if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << missing_;
            GTEST_SKIP() << missing_;
        }
        ASSERT_TRUE(postgres_) << error_;
    }

    // buildah against the test's own containers storage (tests/image/build_image.sh wrote its configuration).
    static CommandResult buildah(std::vector<std::string> args) {
        args.insert(args.begin(), "buildah");
        CommandOptions options;
        options.env = {{"CONTAINERS_STORAGE_CONF", std::string(BACKHAUL_IMAGE_WORK_DIR) + "/storage.conf"}};
        return run_command(args, options);
    }

    // `command` inside the image, as the image's user, with `volumes` ("HOST:CONTAINER[:ro]") mounted.
    static CommandResult in_image(const std::vector<std::string>& command,
                                  const std::vector<std::string>& volumes = {}) {
        std::vector<std::string> args = {"run", "--isolation", "chroot"};
        for (const std::string& volume : volumes) args.insert(args.end(), {"--volume", volume});
        args.push_back(container_);
        args.push_back("--");
        args.insert(args.end(), command.begin(), command.end());
        return buildah(args);
    }

    // One file of the OCI archive, by its path inside the archive.
    static std::string archive_member(const std::string& member) {
        CommandResult extracted = run_command({"tar", "-xOf", archive_, member});
        if (extracted.exit_code != 0)
            throw std::runtime_error("tar -xOf " + archive_ + " " + member + ": " + extracted.err);
        return extracted.out;
    }
    static std::string blob(const std::string& digest) {
        return archive_member("blobs/" + std::regex_replace(digest, std::regex(":"), "/"));
    }

    std::vector<std::string> bucket_keys() const {
        CommandResult listed = SwiftS3::instance().aws(
            {"s3api", "list-objects", "--bucket", kBucket, "--query", "Contents[].Key", "--output", "text"});
        if (listed.exit_code != 0) throw std::runtime_error("list-objects failed: " + listed.err);
        std::vector<std::string> keys;
        std::istringstream in(listed.out);
        for (std::string key; in >> key;)
            if (key != "None") keys.push_back(key);
        return keys;
    }

    // A pipeline directory and a secrets directory as a deployment mounts them at /etc/backhaul and /run/secrets:
    // the pipeline readable by all, the secret file only by the image's user (secret-file refuses anything more
    // open). The pipeline backs up kDatabase through gzip into kBucket, with a key of its own `name`.
    struct MountedPipeline {
        std::filesystem::path etc, secrets;
        std::string pipeline;  // its path inside the container
    };
    MountedPipeline mounted_pipeline(const std::string& name) const {
        MountedPipeline mounted{tmp_ / name / "etc", tmp_ / name / "secrets", "/etc/backhaul/" + name + ".toml"};
        std::filesystem::create_directories(mounted.etc);
        std::filesystem::create_directories(mounted.secrets);
        for (const std::filesystem::path& dir : {tmp_.path(), tmp_ / name, mounted.etc, mounted.secrets})
            std::filesystem::permissions(dir, std::filesystem::perms(0755));
        const std::filesystem::path secret_file = mounted.secrets / "backhaul.json";
        write_file(secret_file, nlohmann::json{{"DB_PASSWORD", postgres_->password()},
                                               {"S3_ACCESS_KEY", SwiftS3::admin.access_key},
                                               {"S3_SECRET_KEY", SwiftS3::admin.secret_key}}
                                    .dump());
        if (::chown(secret_file.c_str(), kImageUid, kImageUid) != 0 || ::chmod(secret_file.c_str(), 0400) != 0)
            throw std::runtime_error("cannot give " + secret_file.string() + " to uid 10001, mode 0400");
        // A named time zone: the image must carry the zone data (tzdata).
        write_file(mounted.etc / (name + ".toml"), R"(name = ")" + name + R"("
timezone = "Asia/Seoul"

[secrets.app]
plugin = "secret-file"
path = "/run/secrets/backhaul.json"

[source]
plugin = "source-postgres"
host = "127.0.0.1"
port = )" + std::to_string(postgres_->port()) + R"(
user = ")" + postgres_->user() + R"("
password = "${secret:app.DB_PASSWORD}"
database = ")" + kDatabase + R"("

[[transform]]
plugin = "compress-gzip"

[sink]
plugin = "sink-ncloud-s3"
endpoint = ")" + SwiftS3::instance().endpoint() + R"("
region = ")" + SwiftS3::region + R"("
bucket = ")" + kBucket + R"("
access_key = "${secret:app.S3_ACCESS_KEY}"
secret_key = "${secret:app.S3_SECRET_KEY}"
key = ")" + name + R"(/{database}_%Y%m%d%H%M%S{ext}"
)");
        return mounted;
    }

    // Dumps in kBucket that are not in `before`.
    std::vector<std::string> new_dumps(const std::vector<std::string>& before) const {
        std::vector<std::string> dumps;
        for (const std::string& key : bucket_keys())
            if (std::find(before.begin(), before.end(), key) == before.end() &&
                std::regex_match(key, std::regex("[a-z-]+/inventory_[0-9]{14}\\.sql\\.gz")))
                dumps.push_back(key);
        return dumps;
    }

    static inline const std::string kSourceDir = BACKHAUL_SOURCE_DIR;
    static inline std::string image_, archive_, version_, container_, missing_;
    static inline std::unique_ptr<PostgresServer> postgres_;
    static inline std::string error_;
    TempDir tmp_;
};

TEST_F(ImageSmokeTest, RunsAsItsNumericUserNotRoot) {
    CommandResult uid = in_image({"id", "-u"});
    ASSERT_EQ(uid.exit_code, 0) << uid.err;
    EXPECT_EQ(trimmed(uid.out), std::to_string(kImageUid));
    CommandResult user = in_image({"id", "-un"});
    ASSERT_EQ(user.exit_code, 0) << user.err;
    EXPECT_EQ(trimmed(user.out), "backhaul")
        << "the package's user, created with the image's uid; stderr: " << user.err;
    CommandResult gid = in_image({"id", "-g"});
    ASSERT_EQ(gid.exit_code, 0) << gid.err;
    EXPECT_EQ(trimmed(gid.out), std::to_string(kImageUid));
}

TEST_F(ImageSmokeTest, HoldsBackhaulEveryFirstPartyPluginAndThePostgresClient) {
    CommandResult version = in_image({"backhaul", "--version"});
    ASSERT_EQ(version.exit_code, 0) << version.err;
    EXPECT_THAT(version.out, HasSubstr(version_));

    CommandResult plugins = in_image({"backhaul", "plugins"});
    ASSERT_EQ(plugins.exit_code, 0) << plugins.err;
    int expected = 0;
    for (const auto& entry : std::filesystem::directory_iterator(BACKHAUL_SOURCE_DIR "/plugins")) {
        const std::string name = entry.path().filename().string();
        if (!std::filesystem::exists(entry.path() / "README.md")) continue;  // plugins/CMakeLists.txt
        ++expected;
        EXPECT_TRUE(std::regex_search(plugins.out, std::regex("(^|\n)" + name + " ")))
            << name << " is missing from `backhaul plugins` in the image:\n"
            << plugins.out;
    }
    EXPECT_GE(expected, 12);

    CommandResult pg_dump = in_image({"pg_dump", "--version"});
    ASSERT_EQ(pg_dump.exit_code, 0) << pg_dump.err;
    EXPECT_THAT(pg_dump.out, StartsWith("pg_dump (PostgreSQL) "));
    // HTTPS endpoints (the default NCloud one) need the CA roots, which no package Depends on.
    EXPECT_EQ(in_image({"test", "-s", "/etc/ssl/certs/ca-certificates.crt"}).exit_code, 0)
        << "no CA certificates in the image";
}

TEST_F(ImageSmokeTest, ArchiveIsAnOciImageWithTheDocumentedConfiguration) {
    CommandResult listing = run_command({"tar", "-tf", archive_});
    ASSERT_EQ(listing.exit_code, 0) << listing.err;
    EXPECT_THAT(listing.out, HasSubstr("oci-layout\n"));
    EXPECT_THAT(listing.out, HasSubstr("index.json\n"));
    EXPECT_EQ(nlohmann::json::parse(archive_member("oci-layout")).value("imageLayoutVersion", ""), "1.0.0");

    nlohmann::json index = nlohmann::json::parse(archive_member("index.json"));
    ASSERT_EQ(index["manifests"].size(), 1u) << index.dump();
    nlohmann::json manifest = nlohmann::json::parse(blob(index["manifests"][0]["digest"]));
    EXPECT_EQ(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    nlohmann::json config = nlohmann::json::parse(blob(manifest["config"]["digest"]));
    EXPECT_EQ(config["os"], "linux");
    const nlohmann::json& run = config["config"];
    EXPECT_EQ(run["User"], std::to_string(kImageUid) + ":" + std::to_string(kImageUid));
    EXPECT_EQ(run["Entrypoint"], nlohmann::json::array({"backhaul"}));
    EXPECT_EQ(run["Cmd"], nlohmann::json::array({"--help"}));
    EXPECT_EQ(run["WorkingDir"], "/var/lib/backhaul");
    EXPECT_EQ(run["Labels"]["org.opencontainers.image.version"], version_);
    EXPECT_THAT(run["Env"].dump(), HasSubstr("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
}

TEST_F(ImageSmokeTest, BacksUpPostgresToS3AndRestoresWithPipelineAndSecretsMounted) {
    const MountedPipeline mounted = mounted_pipeline("image-smoke");
    const std::vector<std::string> volumes = {mounted.etc.string() + ":/etc/backhaul:ro",
                                              mounted.secrets.string() + ":/run/secrets:ro"};
    std::string output;
    auto backhaul = [&](std::vector<std::string> args) {
        args.insert(args.begin(), "backhaul");
        CommandResult result = in_image(args, volumes);
        output += result.out + result.err;
        return result;
    };

    CommandResult validate = backhaul({"validate", mounted.pipeline});
    ASSERT_EQ(validate.exit_code, 0) << validate.err;

    std::vector<std::string> before = bucket_keys();
    CommandResult run = backhaul({"run", mounted.pipeline});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup committed"));
    std::vector<std::string> dumps = new_dumps(before);
    ASSERT_EQ(dumps.size(), 1u) << ::testing::PrintToString(bucket_keys());
    const std::string key = dumps[0];
    CommandOptions gunzip_input;
    gunzip_input.stdin_data = SwiftS3::instance().download(kBucket, key);
    CommandResult dump = run_command({"gunzip", "-c"}, gunzip_input);
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    EXPECT_THAT(dump.out, HasSubstr("CREATE TABLE public.items"));

    // The run took its lock in the image's default lock directory, the one a read-only root needs a volume for.
    CommandResult locks = in_image({"ls", "/run/backhaul"});
    ASSERT_EQ(locks.exit_code, 0) << locks.err;
    EXPECT_THAT(locks.out, ::testing::MatchesRegex("image-smoke-[0-9a-f]{12}\\.lock\n"));

    CommandResult verify = backhaul({"verify", mounted.pipeline, "--key", key});
    ASSERT_EQ(verify.exit_code, 0) << verify.err;

    CommandResult restore =
        backhaul({"restore", mounted.pipeline, "--key", key, "--target-database", kRestoredDatabase, "--create"});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_EQ(postgres_->query(kRestoredDatabase, "SELECT count(*) FROM items;"), "20000");
    EXPECT_EQ(postgres_->comparable_dump(kRestoredDatabase), postgres_->comparable_dump(kDatabase));

    EXPECT_THAT(output, Not(HasSubstr(postgres_->password())));
    EXPECT_THAT(output, Not(HasSubstr(SwiftS3::admin.secret_key)));
}

// readOnlyRootFilesystem with one emptyDir at /run/backhaul (docs/container.md): a run needs nothing else writable,
// and without that volume it fails at the lock, before it connects anywhere.
TEST_F(ImageSmokeTest, RunsWithAReadOnlyRootAndOnlyTheLockDirectoryWritable) {
    const MountedPipeline mounted = mounted_pipeline("image-read-only");
    CommandResult mount = buildah({"mount", container_});
    ASSERT_EQ(mount.exit_code, 0) << mount.err;
    const std::string root = trimmed(mount.out);
    auto read_only_run = [&](std::vector<std::string> writable) {
        std::vector<std::string> args = {"bash", kSourceDir + "/tests/image/run_read_only.sh", root,
                                         std::to_string(kImageUid) + ":" + std::to_string(kImageUid)};
        for (const std::string& dir : writable) args.insert(args.end(), {"--tmpfs", dir});
        args.insert(args.end(),
                    {"--bind", mounted.etc.string() + ":/etc/backhaul", "--bind",
                     mounted.secrets.string() + ":/run/secrets", "--", "backhaul", "run", mounted.pipeline});
        return run_command(args);
    };

    std::vector<std::string> before = bucket_keys();
    CommandResult without_volume = read_only_run({});
    EXPECT_EQ(without_volume.exit_code, 1) << without_volume.err;
    EXPECT_THAT(without_volume.err, HasSubstr("lock: cannot create directory '/tmp/backhaul-10001': Read-only"));
    EXPECT_THAT(new_dumps(before), ::testing::IsEmpty());

    CommandResult with_volume = read_only_run({"/run/backhaul"});
    EXPECT_EQ(with_volume.exit_code, 0) << with_volume.err;
    EXPECT_THAT(with_volume.err, HasSubstr("backup committed"));
    EXPECT_EQ(new_dumps(before).size(), 1u) << ::testing::PrintToString(bucket_keys());
    buildah({"umount", container_});
}

}  // namespace
}  // namespace backhaul::testing
