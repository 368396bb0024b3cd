// Issue 9 end to end: source-postgres → compress-zstd → encrypt-age → sink-ncloud-s3 (Swift) → `backhaul restore`
// into a new database → the data matches. The stored object is a standard age file of a standard zstd frame, so the
// real `age -d -i` and `zstd -dc` turn it back into the SQL dump without Backhaul.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "command_runner.hpp"
#include "postgres_fixture.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kBucket = "encrypted-backups";
constexpr const char* kDatabase = "ledger";
constexpr const char* kRestoredDatabase = "ledger_restored";

class EncryptedPipelineTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        postgres_ = PostgresServer::start_or_null(&error_, [](PostgresServer& server) {
            SwiftS3::instance().create_bucket(kBucket);
            server.query("postgres", std::string("CREATE DATABASE ") + kDatabase + ";");
            server.query(kDatabase, R"(
                CREATE TABLE entries (id int PRIMARY KEY, account text NOT NULL, amount numeric(12,2), memo text);
                INSERT INTO entries
                    SELECT i, '계좌 ' || (i % 97), (i * 131 % 1000000) / 100.0,
                           CASE WHEN i % 11 = 0 THEN NULL ELSE repeat('memo', i % 20) END
                    FROM generate_series(1, 30000) i;)");
        });
    }
    static void TearDownTestSuite() { postgres_.reset(); }
    void SetUp() override { ASSERT_TRUE(postgres_) << error_; }

    // The recipient `backhaul keygen age` prints for the identity it writes to `identity`.
    static std::string generate_identity(const std::filesystem::path& identity) {
        CommandResult keygen = run_command({BACKHAUL_BINARY, "keygen", "age", "--output", identity.string()});
        if (keygen.exit_code != 0) throw std::runtime_error("backhaul keygen age failed: " + keygen.err);
        std::smatch match;
        if (!std::regex_search(keygen.err, match, std::regex("Public key: (age1[0-9a-z]+)")))
            throw std::runtime_error("backhaul keygen age printed no recipient: " + keygen.err);
        return match[1];
    }

    std::filesystem::path pipeline(const std::string& recipient, const std::filesystem::path& identity) {
        std::string text = R"(name = "encrypted-postgres"

[source]
plugin = "source-postgres"
host = ")" + postgres_->host() +
                           R"("
port = )" + std::to_string(postgres_->port()) +
                           R"(
database = ")" + kDatabase +
                           R"("
user = ")" + postgres_->user() +
                           R"("
password = "${env:DB_PASSWORD}"

[[transform]]
plugin = "compress-zstd"
level = 3

[[transform]]
plugin = "encrypt-age"
recipients = [")" + recipient +
                           R"("]
identity_file = ")" + identity.string() +
                           R"("

[sink]
plugin = "sink-ncloud-s3"
endpoint = ")" + SwiftS3::instance().endpoint() +
                           R"("
region = ")" + SwiftS3::region +
                           R"("
bucket = ")" + kBucket + R"("
access_key = "${env:ACCESS_KEY}"
secret_key = "${env:SECRET_KEY}"
key = "{database}_%Y%m%d%H%M%S{ext}"
)";
        write_file(tmp_ / "encrypted-postgres.toml", text);
        return tmp_ / "encrypted-postgres.toml";
    }

    static std::map<std::string, std::string> environment() {
        return {{"DB_PASSWORD", postgres_->password()},
                {"ACCESS_KEY", SwiftS3::admin.access_key},
                {"SECRET_KEY", SwiftS3::admin.secret_key}};
    }

    static CommandResult backhaul(std::vector<std::string> args) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        CommandOptions options;
        options.env = environment();
        return run_command(args, options);
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

    std::string table_fingerprint(const std::string& database) const {
        return postgres_->query(database, "SELECT count(*), md5(string_agg(e::text, ',' ORDER BY id)) FROM entries e;");
    }

    static inline std::unique_ptr<PostgresServer> postgres_;
    static inline std::string error_;
    TempDir tmp_;
};

TEST_F(EncryptedPipelineTest, BacksUpCompressedAndEncryptedToS3AndRestoresIdenticalData) {
    const std::filesystem::path identity = tmp_ / "age.key";
    const std::string recipient = generate_identity(identity);
    std::filesystem::path file = pipeline(recipient, identity);
    std::vector<std::string> before = bucket_keys();

    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup committed"));

    std::vector<std::string> dumps;
    for (const std::string& key : bucket_keys())
        if (std::find(before.begin(), before.end(), key) == before.end() &&
            std::regex_match(key, std::regex("ledger_[0-9]{14}\\.sql\\.zst\\.age")))
            dumps.push_back(key);
    ASSERT_EQ(dumps.size(), 1u) << ::testing::PrintToString(bucket_keys());
    const std::string key = dumps[0];

    // Encrypted at rest: an age file whose header names one X25519 recipient, and no row data in the clear.
    std::string stored = SwiftS3::instance().download(kBucket, key);
    EXPECT_THAT(stored, StartsWith("age-encryption.org/v1\n-> X25519 "));
    EXPECT_THAT(stored, Not(HasSubstr("CREATE TABLE")));
    EXPECT_THAT(stored, Not(HasSubstr("memomemo")));

    // Readable without Backhaul: the real age CLI with the keygen'd identity, then zstd.
    write_file(tmp_ / "dump.sql.zst.age", stored);
    CommandResult decrypted = run_command({"age", "-d", "-i", identity.string(), "-o", (tmp_ / "dump.sql.zst").string(),
                                           (tmp_ / "dump.sql.zst.age").string()});
    ASSERT_EQ(decrypted.exit_code, 0) << decrypted.err;
    CommandResult decompressed = run_command({"zstd", "-dc", (tmp_ / "dump.sql.zst").string()});
    ASSERT_EQ(decompressed.exit_code, 0) << decompressed.err;
    EXPECT_THAT(decompressed.out, HasSubstr("PostgreSQL database dump"));
    EXPECT_THAT(decompressed.out, HasSubstr("CREATE TABLE public.entries"));

    CommandResult restore =
        backhaul({"restore", file.string(), "--key", key, "--target-database", kRestoredDatabase, "--create"});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;

    std::string original = table_fingerprint(kDatabase);
    EXPECT_THAT(original, StartsWith("30000|"));
    EXPECT_EQ(table_fingerprint(kRestoredDatabase), original);
    EXPECT_EQ(postgres_->comparable_dump(kRestoredDatabase), postgres_->comparable_dump(kDatabase));
}

}  // namespace
}  // namespace backhaul::testing
