// The seed's whole job, end to end, from examples/ncloud-postgres-daily.toml: secret-ncloud (the local Secret Manager
// that checks every signature) → source-postgres (a real PostgreSQL whose role password exists only in the secret) →
// compress-gzip → sink-ncloud-s3 (Swift) → `backhaul restore` into a new database → the data matches. And the leak
// test: the password appears in no output, no stored object, no command line of any process, and no environment of
// any process under `backhaul` other than pg_dump/psql.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include "command_runner.hpp"
#include "ncloud_secret_manager_fixture.hpp"
#include "postgres_fixture.hpp"
#include "s3_fixture.hpp"
#include "secret_leak_scanner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr const char* kRole = "seed_backup";
constexpr const char* kBucket = "seed-backups";
constexpr const char* kDatabase = "shop";

class SeedPipelineTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        postgres_ = PostgresServer::start_or_null(&error_, [](PostgresServer& server) {
            SwiftS3::instance().create_bucket(kBucket);
            // The role the pipeline uses; each test gives it a password of its own (SetUp).
            server.query("postgres",
                         std::string("CREATE ROLE ") + kRole + " LOGIN SUPERUSER; CREATE DATABASE " + kDatabase + ";");
            server.query(kDatabase, R"(
                CREATE SCHEMA sales;
                CREATE TABLE sales.customers (id int PRIMARY KEY, name text NOT NULL, note text);
                CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer int REFERENCES sales.customers,
                                           total numeric(12,2), items jsonb, placed timestamptz);
                INSERT INTO sales.customers
                    SELECT i, '고객 ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat('x', i % 50) END
                    FROM generate_series(1, 500) i;
                INSERT INTO sales.orders (customer, total, items, placed)
                    SELECT 1 + i % 500, (i * 37 % 100000) / 100.0, jsonb_build_object('sku', i, 'qty', i % 5),
                           timestamptz '2025-01-01 00:00:00+09' + i * interval '1 minute'
                    FROM generate_series(1, 20000) i;
                CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE total > 900;)");
        });
    }
    static void TearDownTestSuite() { postgres_.reset(); }
    // The role's password is only in the test secret (and this SQL, sent on stdin).
    void SetUp() override {
        ASSERT_TRUE(postgres_) << error_;
        postgres_->query("postgres", std::string("ALTER ROLE ") + kRole + " PASSWORD '" + password_ + "'");
    }

    // Secret Manager accepts the same key pair as the S3 endpoint, as NCloud's do.
    std::string secret_manager_config() const {
        return R"({"access_key": ")" + SwiftS3::admin.access_key + R"(", "secret_key": ")" + SwiftS3::admin.secret_key +
               R"(", "secrets": {
                 "seed-db": {"chain": {"active": "{\"cdbPassword\":\")" +
               password_ + R"(\"}",
                                       "previous": "{\"cdbPassword\":\")" +
               wrong_password_ + R"(\"}"}},
                 "seed-db-wrong": {"chain": {"active": "{\"cdbPassword\":\")" +
               wrong_password_ + R"(\"}"}}}})";
    }

    // The example, with the one thing the environment cannot change: the port of the test server.
    std::filesystem::path pipeline() {
        std::string text = read_file(std::string(BACKHAUL_SOURCE_DIR) + "/examples/ncloud-postgres-daily.toml");
        size_t port = text.find("port = 15432");
        if (port == std::string::npos) throw std::runtime_error("the example has no 'port = 15432' line");
        text.replace(port, 12, "port = " + std::to_string(postgres_->port()));
        write_file(tmp_ / "ncloud-postgres-daily.toml", text);
        return tmp_ / "ncloud-postgres-daily.toml";
    }

    // Exactly the variables the example reads; no PG* variable, so the password can only come from the secret.
    std::map<std::string, std::string> environment(const std::string& secret_id = "seed-db") const {
        return {{"ACCESS_KEY", SwiftS3::admin.access_key},
                {"SECRET_KEY", SwiftS3::admin.secret_key},
                {"SECRET_ID", secret_id},
                {"SECRET_MANAGER_ENDPOINT", secrets_.endpoint()},
                {"DB_HOST", postgres_->host()},
                {"DB_NAME", kDatabase},
                {"DB_USER", kRole},
                {"OBJECT_STORAGE_ENDPOINT", SwiftS3::instance().endpoint()},
                {"OBJECT_STORAGE_REGION", SwiftS3::region},
                {"BUCKET", kBucket}};
    }

    // The example with `pg_dump` pointing into a directory whose psql is a stand-in that, the first time it runs,
    // waits at a gate (a FIFO, read by the shell itself: a child would inherit the password too) until the test opens
    // it, then execs the real psql with the environment it was given: the scanners get to see psql's environment
    // however short the restore is, instead of sampling it in time.
    std::filesystem::path pipeline_with_gated_psql() {
        const std::filesystem::path bin = tmp_ / "gated-bin";
        std::filesystem::create_directories(bin);
        std::filesystem::create_symlink(postgres_->bin_dir() / "pg_dump", bin / "pg_dump");
        const std::string gate = (tmp_ / "psql-gate").string();
        if (::mkfifo(gate.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
        const std::string psql = (postgres_->bin_dir() / "psql").string();
        write_file(bin / "psql", "#!/bin/sh\nif [ ! -e '" + gate + ".reached' ]; then\n    : > '" + gate +
                                     ".reached'\n    read _ < '" + gate + "'\nfi\nexec '" + psql + "' \"$@\"\n");
        std::filesystem::permissions(bin / "psql", std::filesystem::perms::owner_all);
        std::string text = read_file(pipeline().string());
        const size_t source = text.find("[source]\n");
        if (source == std::string::npos) throw std::runtime_error("the example has no [source] table");
        text.insert(source + 9, "pg_dump = \"" + (bin / "pg_dump").string() + "\"\n");
        write_file(tmp_ / "gated.toml", text);
        return tmp_ / "gated.toml";
    }
    // Opens the gate once psql waits at it and `scanner` has made two full passes over /proc since; gives up when
    // the run has `finished` without reaching psql (once psql waits, the run cannot finish before the gate opens).
    std::thread open_psql_gate_when_seen(const SecretLeakScanner& scanner, const std::atomic<bool>& finished) {
        return std::thread([this, &scanner, &finished] {
            const std::string gate = (tmp_ / "psql-gate").string();
            while (!finished && !std::filesystem::exists(gate + ".reached"))
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            if (!finished) scanner.await_passes(2);
            // Non-blocking: between creating `.reached` and opening the FIFO, the shell has no reader on it yet.
            while (!finished) {
                const int fd = ::open(gate.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd >= 0) {
                    const bool written = ::write(fd, "\n", 1) == 1;
                    ::close(fd);
                    if (written) return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        });
    }

    // Runs backhaul while the scanner watches every process; checks that neither password leaked anywhere it can see.
    // `strict` (optional) receives what a scanner that allows no process at all saw: where the password really went;
    // with it, the run must use pipeline_with_gated_psql().
    CommandResult backhaul(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                           std::vector<std::string>* strict = nullptr) {
        args.insert(args.begin(), {BACKHAUL_BINARY, "--log-level", "debug"});
        CommandOptions options;
        options.env = env;
        SecretLeakScanner scanner(password_);
        SecretLeakScanner wrong_scanner(wrong_password_);
        SecretLeakScanner strict_scanner(password_, /*env_allowed=*/{});
        std::atomic<bool> finished{false};
        std::thread gate_opener;
        if (strict) gate_opener = open_psql_gate_when_seen(strict_scanner, finished);
        CommandResult result = run_command(args, options);
        finished = true;
        if (gate_opener.joinable()) gate_opener.join();
        if (strict) *strict = strict_scanner.stop();
        EXPECT_THAT(scanner.stop(), IsEmpty());
        EXPECT_THAT(wrong_scanner.stop(), IsEmpty());
        for (const std::string& secret : {password_, wrong_password_}) {
            EXPECT_THAT(result.out, Not(HasSubstr(secret)));
            EXPECT_THAT(result.err, Not(HasSubstr(secret)));
        }
        return result;
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

    // "count|md5" of every table, in a fixed order.
    std::string table_fingerprints(const std::string& database) const {
        return postgres_->query(database, R"(
            SELECT 'customers', count(*), md5(string_agg(c::text, ',' ORDER BY id)) FROM sales.customers c
            UNION ALL
            SELECT 'orders', count(*), md5(string_agg(o::text, ',' ORDER BY id)) FROM sales.orders o;)");
    }

    static inline std::unique_ptr<PostgresServer> postgres_;
    static inline std::string error_;
    // Unique to the test: the scanners watch every command line on the machine, and the tests run in parallel.
    const std::string password_ = unique_secret("Seed-Distinctive-Pa55w0rd");
    const std::string wrong_password_ = unique_secret("Seed-Wrong-Pa55w0rd");
    TempDir tmp_;
    NcloudSecretManagerServer secrets_{secret_manager_config()};
};

TEST_F(SeedPipelineTest, BacksUpToS3AndRestoresIdenticalDataWithoutLeakingThePassword) {
    std::filesystem::path file = pipeline();
    std::vector<std::string> before = bucket_keys();

    CommandResult run = backhaul({"run", file.string()}, environment());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup committed"));

    std::vector<std::string> keys = bucket_keys();
    std::vector<std::string> added;
    for (const std::string& key : keys)
        if (std::find(before.begin(), before.end(), key) == before.end()) added.push_back(key);
    std::vector<std::string> dumps;
    for (const std::string& key : added)
        if (std::regex_match(key, std::regex("20[0-9]{2}/[0-9]{2}/[0-9]{2}/shop_[0-9]{12}\\.sql\\.gz")))
            dumps.push_back(key);
    ASSERT_EQ(dumps.size(), 1u) << ::testing::PrintToString(added);
    const std::string key = dumps[0];

    // Every object the run stored (the dump, and a manifest if the sink writes one) is free of the password, and the
    // dump is plain gzip that an independent gunzip reads.
    for (const std::string& stored : added)
        EXPECT_THAT(SwiftS3::instance().download(kBucket, stored), Not(HasSubstr(password_))) << stored;
    write_file(tmp_ / "dump.sql.gz", SwiftS3::instance().download(kBucket, key));
    CommandResult gunzip = run_command({"gunzip", "-c", (tmp_ / "dump.sql.gz").string()});
    ASSERT_EQ(gunzip.exit_code, 0) << gunzip.err;
    EXPECT_THAT(gunzip.out, HasSubstr("CREATE TABLE sales.orders"));
    EXPECT_THAT(gunzip.out, Not(HasSubstr(password_)));

    std::vector<std::string> strict;
    CommandResult restore = backhaul({"restore", pipeline_with_gated_psql().string(), "--key", key, "--target-database",
                                      "shop_restored", "--create"},
                                     environment(), &strict);
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_TRUE(std::filesystem::exists(tmp_ / "psql-gate.reached")) << "the restore's psql was not the gated one";
    // The control: the scanners do see environments (psql waited at its gate until they had), and the password's one
    // way out is psql's environment.
    EXPECT_THAT(strict, ::testing::Contains(::testing::MatchesRegex("environment of [0-9]+ \\(psql\\)")));
    EXPECT_THAT(strict, ::testing::Each(::testing::MatchesRegex("environment of [0-9]+ \\(psql\\)")));

    std::string original = table_fingerprints(kDatabase);
    EXPECT_THAT(original, HasSubstr("customers|500|"));
    EXPECT_THAT(original, HasSubstr("orders|20000|"));
    EXPECT_EQ(table_fingerprints("shop_restored"), original);
    EXPECT_EQ(postgres_->comparable_dump("shop_restored"), postgres_->comparable_dump(kDatabase));

    // One signed Secret Manager request per run: the backup and the restore.
    std::vector<std::string> requests = secrets_.requests();
    EXPECT_EQ(requests.size(), 2u);
    for (const std::string& request : requests) EXPECT_THAT(request, HasSubstr("\"auth\": \"ok\""));
}

TEST_F(SeedPipelineTest, WrongDatabasePasswordInTheSecretFailsCleanlyWithoutLeakingIt) {
    std::vector<std::string> before = bucket_keys();
    CommandResult run = backhaul({"run", pipeline().string()}, environment("seed-db-wrong"));
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: source (source-postgres)"));
    EXPECT_EQ(bucket_keys(), before);
}

TEST_F(SeedPipelineTest, SecretManagerFailuresStopTheRunBeforeTheDatabaseIsTouched) {
    std::vector<std::string> before = bucket_keys();
    std::map<std::string, std::string> env = environment("no-such-secret");
    CommandResult missing = backhaul({"run", pipeline().string()}, env);
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_THAT(missing.err, HasSubstr("secret 'no-such-secret' not found at " + secrets_.endpoint()));

    env = environment();
    env["SECRET_KEY"] = "not-the-secret-key";
    CommandResult unsigned_run = backhaul({"run", pipeline().string()}, env);
    EXPECT_EQ(unsigned_run.exit_code, 1);
    EXPECT_THAT(unsigned_run.err, HasSubstr("Secret Manager rejected the request (HTTP 401"));
    EXPECT_EQ(bucket_keys(), before);
}

}  // namespace
}  // namespace backhaul::testing
