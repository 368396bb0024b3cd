// A PostgreSQL cluster as a set (docs/sets.md), end to end through the real `backhaul` binary and real plugins:
// source-postgres (`databases = ["*"]`, `globals = true`, a non-superuser backup role) → compress-gzip →
// sink-ncloud-s3 (Swift s3api), two streams at once. The bucket is checked with the AWS CLI, gunzip and sha256sum
// (independent clients); the set is restored with `backhaul restore --key` into a second, freshly initialised cluster
// and compared there (roles, memberships, database properties, every database's dump). And the commit rule of a set:
// when one database's pg_dump fails, the run leaves nothing of the set in the bucket (no object, no manifest, no
// pending marker, no multipart upload).
//
// The backup role is no superuser. What it needs to dump a whole cluster: LOGIN; CONNECT on every database (PUBLIC
// has it by default; granted explicitly where it was revoked); USAGE on every schema; SELECT on every table and
// sequence. It cannot read pg_authid, so the globals are dumped without role passwords (a warning says so) and the
// restored roles have none. (Membership in pg_read_all_data would give the same reads in one grant, but it reads
// pg_authid too, and with it the role passwords.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "command_runner.hpp"
#include "http_receiver.hpp"
#include "postgres_fixture.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Hostile database names: a quote, double quotes and spaces; non-ASCII and a space; and a plain one.
const std::string kQuoted = "O'Brien \"x\"";
const std::string kCafe = "Caf\xC3\xA9 lait";  // Café lait
const std::string kPlain = "orders";
// Their key segments (docs/sets.md: percent-encoded except A-Z a-z 0-9 . _ -).
const std::string kQuotedSegment = "O%27Brien%20%22x%22";
const std::string kCafeSegment = "Caf%C3%A9%20lait";

const std::string kBoss = "Bob \"the\" b\xC3\xB3ss";  // Bob "the" bóss: a role whose name needs quoting
constexpr const char* kBackupRole = "cluster_backup";
const std::string kBackupPassword = "backup pw 'single' \"double\"";

std::string ident(const std::string& name) {
    std::string quoted = "\"";
    for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}
std::string literal(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    return quoted + "'";
}

// Roles with memberships and settings, databases with owners, grants and a comment, and data in each, readable by the
// backup role only through the grants listed at the top of this file.
void populate_cluster(PostgresServer& server) {
    server.query("postgres",
                 "CREATE ROLE staff NOLOGIN;"
                 "CREATE ROLE alice LOGIN CREATEDB CONNECTION LIMIT 7 PASSWORD 'alice-pw';"
                 "ALTER ROLE alice SET search_path = app, public;"
                 "CREATE ROLE " +
                     ident(kBoss) +
                     " NOLOGIN;"
                     "GRANT staff TO alice;"
                     "GRANT staff TO " +
                     ident(kBoss) +
                     " WITH ADMIN OPTION;"
                     "CREATE ROLE " +
                     std::string(kBackupRole) + " LOGIN PASSWORD " + literal(kBackupPassword) +
                     ";"
                     "CREATE DATABASE " +
                     ident(kQuoted) +
                     " OWNER alice;"
                     "CREATE DATABASE " +
                     ident(kCafe) + " OWNER " + ident(kBoss) +
                     ";"
                     "CREATE DATABASE " +
                     kPlain +
                     ";"
                     "COMMENT ON DATABASE " +
                     kPlain +
                     " IS 'the plain one';"
                     "REVOKE CONNECT ON DATABASE " +
                     ident(kCafe) +
                     " FROM PUBLIC;"
                     "GRANT CONNECT ON DATABASE " +
                     ident(kCafe) + " TO staff, " + kBackupRole + ";");
    for (const std::string& db : {kQuoted, kCafe, kPlain})
        server.query(db,
                     "CREATE SCHEMA app AUTHORIZATION alice;"
                     "CREATE TABLE app.items (id int PRIMARY KEY, label text NOT NULL, price numeric(10,2));"
                     "INSERT INTO app.items SELECT g, 'item ' || g || ' of ' || " +
                         literal(db) +
                         ", g * 1.25 FROM generate_series(1, 20000) g;"
                         "ALTER TABLE app.items OWNER TO alice;"
                         "GRANT SELECT ON app.items TO staff;"
                         "CREATE TABLE public.notes (id serial PRIMARY KEY, body text);"
                         "INSERT INTO public.notes (body) SELECT md5(g::text) FROM generate_series(1, 3000) g;"
                         "GRANT USAGE ON SCHEMA app TO " +
                         std::string(kBackupRole) +
                         ";"
                         "GRANT SELECT ON ALL TABLES IN SCHEMA app, public TO " +
                         kBackupRole +
                         ";"
                         "GRANT SELECT ON ALL SEQUENCES IN SCHEMA app, public TO " +
                         kBackupRole + ";");
}

// Every role but the bootstrap superuser (which every cluster has, with a password of its own), with its attributes.
std::string roles(const PostgresServer& server) {
    return server.query(
        "postgres",
        "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
        "rolbypassrls, rolconnlimit, rolvaliduntil, rolconfig FROM pg_roles WHERE rolname <> " +
            literal(PostgresServer::kUser) + " ORDER BY rolname COLLATE \"C\"");
}
std::string memberships(const PostgresServer& server) {
    return server.query(
        "postgres",
        "SELECT r.rolname, m.rolname, g.rolname, a.admin_option FROM pg_auth_members a "
        "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
        "LEFT JOIN pg_roles g ON g.oid = a.grantor ORDER BY r.rolname COLLATE \"C\", m.rolname COLLATE \"C\"");
}
// The ACL as a sorted list: GRANTs replayed by a restore may order it differently.
std::string database_properties(const PostgresServer& server) {
    return server.query("postgres",
                        "SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype, "
                        "ARRAY(SELECT a::text FROM unnest(datacl) a ORDER BY 1), "
                        "shobj_description(oid, 'pg_database') FROM pg_database "
                        "WHERE datname <> 'postgres' AND NOT datistemplate ORDER BY datname COLLATE \"C\"");
}

std::vector<std::string> bucket_keys(const std::string& bucket) {
    CommandResult listed = SwiftS3::instance().aws(
        {"s3api", "list-objects", "--bucket", bucket, "--query", "Contents[].Key", "--output", "text"});
    if (listed.exit_code != 0) throw std::runtime_error("list-objects failed: " + listed.err);
    std::vector<std::string> keys;
    std::istringstream in(listed.out);  // the set's keys are percent-encoded: no whitespace in them
    for (std::string key; in >> key;)
        if (key != "None") keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    return keys;
}

// The set key of the run's summary line `backup committed: pipeline=NAME key=KEY ...`.
std::string committed_key(const std::string& log) {
    std::smatch match;
    if (!std::regex_search(log, match, std::regex("backup committed: pipeline=\\S+ key=(\\S+)")))
        throw std::runtime_error("no 'backup committed' line in the log:\n" + log);
    return match[1];
}

struct PipelineFile {
    std::string name;
    const PostgresServer* server = nullptr;
    std::string user;
    int jobs = 1;
    std::string bucket;
    std::string extra_source;  // more lines of [source]
    // More `[[sink]]` tables (and whatever follows them); the Swift sink is then the `[[sink]]` named "swift".
    std::string more_sinks;
};

// The cluster set pipeline of these tests: every database and the globals, gzip, Swift's s3api.
std::string set_pipeline_text(const PipelineFile& p, const std::filesystem::path& lock_dir) {
    const std::string swift_table = p.more_sinks.empty() ? "[sink]" : "[[sink]]\nname = \"swift\"";
    return "name = \"" + p.name + "\"\njobs = " + std::to_string(p.jobs) + "\nlock_dir = \"" + lock_dir.string() +
           "\"\nplugin_path = [\"" ENGINE_FIXTURE_DIR R"("]

[source]
plugin = "source-postgres"
host = ")" +
           p.server->host() + "\"\nport = " + std::to_string(p.server->port()) + "\nuser = \"" + p.user + R"("
password = "${env:DB_PASSWORD}"
databases = ["*"]
globals = true
)" + p.extra_source +
           R"(
[[transform]]
plugin = "compress-gzip"

)" + swift_table +
           R"(
plugin = "sink-ncloud-s3"
endpoint = ")" +
           SwiftS3::instance().endpoint() + R"("
region = ")" +
           SwiftS3::region + R"("
bucket = ")" +
           p.bucket + R"("
access_key = "${env:ACCESS_KEY}"
secret_key = "${env:SECRET_KEY}"
part_size = "5MiB"
key = "{pipeline}/%Y%m%dT%H%M%S"
)" + p.more_sinks;
}

// The real binary, the database password and the S3 keys in its environment, as the pipelines expect them.
CommandResult run_backhaul(std::vector<std::string> args, const std::string& db_password) {
    args.insert(args.begin(), {BACKHAUL_BINARY, "--log-level", "debug"});
    CommandOptions options;
    options.env = {{"DB_PASSWORD", db_password},
                   {"ACCESS_KEY", SwiftS3::admin.access_key},
                   {"SECRET_KEY", SwiftS3::admin.secret_key}};
    return run_command(args, options);
}

class ClusterSetTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { source_ = PostgresServer::start_or_null(&error_, populate_cluster); }
    static void TearDownTestSuite() { source_.reset(); }
    void SetUp() override { ASSERT_TRUE(source_) << error_; }

    std::filesystem::path write_pipeline(const PipelineFile& p, const std::string& file_name) {
        std::filesystem::create_directories(tmp_ / "locks");
        const std::string text = set_pipeline_text(p, tmp_ / "locks");
        write_file(tmp_ / file_name, text);
        return tmp_ / file_name;
    }

    std::string gunzip(const std::string& bucket, const std::string& key) {
        const std::filesystem::path file = tmp_ / "object.gz";
        write_file(file, SwiftS3::instance().download(bucket, key));
        CommandResult unzipped = run_command({"gunzip", "-c", file.string()});
        if (unzipped.exit_code != 0) throw std::runtime_error("gunzip of " + key + " failed: " + unzipped.err);
        return unzipped.out;
    }

    std::string sha256sum(const std::string& bucket, const std::string& key) {
        const std::filesystem::path file = tmp_ / "object.bin";
        write_file(file, SwiftS3::instance().download(bucket, key));
        CommandResult summed = run_command({"sha256sum", file.string()});
        if (summed.exit_code != 0) throw std::runtime_error("sha256sum failed: " + summed.err);
        return summed.out.substr(0, 64);
    }

    // The backup of the whole source cluster by the backup role, two streams at once; returns the set key.
    std::string back_up_cluster(const std::string& pipeline, const std::string& bucket, CommandResult* run_out) {
        SwiftS3::instance().create_bucket(bucket);
        const std::filesystem::path file =
            write_pipeline({pipeline, source_.get(), kBackupRole, 2, bucket, "", ""}, "backup.toml");
        CommandResult run = run_backhaul({"run", file.string()}, kBackupPassword);
        *run_out = run;
        if (run.exit_code != 0) return "";
        return committed_key(run.err);
    }

    static inline std::unique_ptr<PostgresServer> source_;
    static inline std::string error_;
    TempDir tmp_;
};

TEST_F(ClusterSetTest, RoundTripOfAClusterWithHostileNamesIntoAFreshClusterAsANonSuperuser) {
    const std::string bucket = "cluster-set-round-trip";
    CommandResult run;
    const std::string key = back_up_cluster("cluster-round-trip", bucket, &run);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(key, ::testing::MatchesRegex("cluster-round-trip/[0-9]{8}T[0-9]{6}"));
    EXPECT_THAT(run.err, HasSubstr("backing up a set of 5 stream(s) to '" + key + "/', 2 at once"));
    EXPECT_THAT(run.err, HasSubstr("user '" + std::string(kBackupRole) + "' cannot read role passwords"));

    // One object per database and the globals, then the manifest; no pending marker left.
    std::vector<std::string> expected = {key + "/databases/" + kCafeSegment + ".sql.gz",
                                         key + "/databases/" + kQuotedSegment + ".sql.gz",
                                         key + "/databases/orders.sql.gz",
                                         key + "/databases/postgres.sql.gz",
                                         key + "/globals.sql.gz",
                                         key + ".manifest.json"};
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(bucket_keys(bucket), expected);

    // Each object is plain gzip of its stream; the manifest lists each with the SHA-256 of the stored bytes.
    const std::string globals = gunzip(bucket, key + "/globals.sql.gz");
    EXPECT_THAT(globals, HasSubstr("CREATE ROLE alice;"));
    EXPECT_THAT(globals, HasSubstr("CREATE ROLE " + ident(kBoss) + ";"));
    EXPECT_THAT(globals, HasSubstr("GRANT staff TO alice"));
    EXPECT_THAT(globals, Not(HasSubstr("PASSWORD")));
    const std::string quoted = gunzip(bucket, key + "/databases/" + kQuotedSegment + ".sql.gz");
    EXPECT_THAT(quoted, HasSubstr("CREATE DATABASE " + ident(kQuoted)));
    EXPECT_THAT(quoted, HasSubstr("20000\titem 20000 of " + kQuoted + "\t25000.00"));
    const std::string cafe = gunzip(bucket, key + "/databases/" + kCafeSegment + ".sql.gz");
    EXPECT_THAT(cafe, HasSubstr("CREATE DATABASE " + ident(kCafe)));
    EXPECT_THAT(cafe, HasSubstr("OWNER TO " + ident(kBoss)));
    EXPECT_THAT(gunzip(bucket, key + "/databases/orders.sql.gz"), HasSubstr("CREATE DATABASE orders"));
    const std::string manifest = SwiftS3::instance().download(bucket, key + ".manifest.json");
    EXPECT_THAT(manifest, HasSubstr("\"backhaul-manifest/2\""));
    for (const std::string& object : expected) {
        if (object.ends_with(".manifest.json")) continue;
        EXPECT_THAT(manifest, HasSubstr("\"" + object + "\"")) << object;
        EXPECT_THAT(manifest, HasSubstr("\"" + sha256sum(bucket, object) + "\"")) << object;
    }

    // Restore into a fresh cluster, as its bootstrap superuser, through a second pipeline file of the same name, sink
    // and key template; selected by name (the whole set: WholeSetRestoresIntoAFreshClusterPostgresIncluded).
    std::string fresh_error;
    std::unique_ptr<PostgresServer> fresh = PostgresServer::start_or_null(&fresh_error);
    ASSERT_TRUE(fresh) << fresh_error;
    const std::filesystem::path restore_file =
        write_pipeline({"cluster-round-trip", fresh.get(), PostgresServer::kUser, 2, bucket, "", ""}, "restore.toml");
    CommandResult restore = run_backhaul({"restore", restore_file.string(), "--key", key, "--globals", "--database",
                                          kQuoted, "--database", kCafe, "--database", kPlain},
                                         fresh->password());
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    for (const std::string& stream :
         std::vector<std::string>{"globals", "databases/" + kQuoted, "databases/" + kCafe, "databases/orders"})
        EXPECT_THAT(restore.err, HasSubstr("stream '" + stream + "' restored")) << stream;

    EXPECT_EQ(roles(*fresh), roles(*source_));
    EXPECT_THAT(roles(*source_), HasSubstr("alice|f|t|f|t|t|f|f|7||{\"search_path=app, public\"}"));
    EXPECT_EQ(memberships(*fresh), memberships(*source_));
    EXPECT_THAT(memberships(*source_), HasSubstr("staff|" + kBoss + "|" + PostgresServer::kUser + "|t"));
    EXPECT_EQ(fresh->query("postgres", "SELECT count(*) FROM pg_authid WHERE rolname IN ('alice', " +
                                           literal(kBackupRole) + ") AND rolpassword IS NULL"),
              "2");
    EXPECT_EQ(database_properties(*fresh), database_properties(*source_));
    for (const std::string& db : {kQuoted, kCafe, kPlain}) {
        const std::string original = source_->comparable_dump(db);
        EXPECT_THAT(original, HasSubstr("COPY app.items")) << db;
        EXPECT_EQ(fresh->comparable_dump(db), original) << db;
    }
}

// The whole set, `postgres` included, restores into a fresh cluster with one plain `backhaul restore`: `postgres`
// follows pg_dumpall's rule (dumped without CREATE DATABASE, restored into the fresh cluster's own, empty one).
TEST_F(ClusterSetTest, WholeSetRestoresIntoAFreshClusterPostgresIncluded) {
    const std::string bucket = "cluster-set-whole-restore";
    CommandResult run;
    const std::string key = back_up_cluster("cluster-whole-restore", bucket, &run);
    ASSERT_EQ(run.exit_code, 0) << run.err;

    std::string fresh_error;
    std::unique_ptr<PostgresServer> fresh = PostgresServer::start_or_null(&fresh_error);
    ASSERT_TRUE(fresh) << fresh_error;
    const std::filesystem::path restore_file = write_pipeline(
        {"cluster-whole-restore", fresh.get(), PostgresServer::kUser, 2, bucket, "", ""}, "restore.toml");
    CommandResult restore = run_backhaul({"restore", restore_file.string(), "--key", key}, fresh->password());
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_THAT(restore.err, HasSubstr("stream 'databases/postgres' restored"));
    EXPECT_THAT(restore.err, HasSubstr("into the existing database (its dump does not create it)"));
    EXPECT_EQ(roles(*fresh), roles(*source_));
    EXPECT_EQ(memberships(*fresh), memberships(*source_));
    for (const std::string& db : {kQuoted, kCafe, kPlain, std::string("postgres")})
        EXPECT_EQ(fresh->comparable_dump(db), source_->comparable_dump(db)) << db;
}

// A superuser's backup holds the role passwords, the bootstrap superuser's among them. Restored as the fresh
// cluster's bootstrap superuser (same name, a password of its own), the globals phase leaves that role's password as
// it is, so the databases phase of the same `backhaul restore` logs in with the pipeline's password.
TEST_F(ClusterSetTest, RestoreOfGlobalsWithPasswordsAsTheirOwnSuperuserGoesOnToTheDatabases) {
    const std::string bucket = "cluster-set-with-passwords";
    SwiftS3::instance().create_bucket(bucket);
    const std::filesystem::path file =
        write_pipeline({"cluster-passwords", source_.get(), PostgresServer::kUser, 2, bucket, "", ""}, "backup.toml");
    CommandResult run = run_backhaul({"run", file.string()}, source_->password());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::string key = committed_key(run.err);
    EXPECT_THAT(gunzip(bucket, key + "/globals.sql.gz"), HasSubstr("PASSWORD 'SCRAM-SHA-256$"));

    std::string fresh_error;
    std::unique_ptr<PostgresServer> fresh = PostgresServer::start_or_null(&fresh_error);
    ASSERT_TRUE(fresh) << fresh_error;
    const std::filesystem::path restore_file =
        write_pipeline({"cluster-passwords", fresh.get(), PostgresServer::kUser, 2, bucket, "", ""}, "restore.toml");
    CommandResult restore = run_backhaul(
        {"restore", restore_file.string(), "--key", key, "--globals", "--database", kPlain}, fresh->password());
    // The restoring role kept its own password (with a warning), so the databases phase could log in.
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_THAT(restore.err, HasSubstr("kept its password"));
    EXPECT_EQ(fresh->comparable_dump(kPlain), source_->comparable_dump(kPlain));
}

// One database's pg_dump fails (a wrapper around the real one exits 3 after the whole dump was written): the run
// fails and leaves nothing of the set in the bucket, under any name.
// The Done-when's fault cases for several sinks: a failing database leaves nothing on any sink (FailedStreamTest, with
// Swift and a local copy); and here, the Swift copy and a second sink that fails part way into the streams
// (sink-faulty: a write past 20000 bytes of an object fails). The Swift copy is complete and verifies; of the failed
// copy nothing is left; the run exits 1 and the failure notification names the failed sink and the complete one.
TEST_F(ClusterSetTest, OneOfTwoSinksFailsAndTheOtherCopyIsComplete) {
    const std::string bucket = "cluster-set-two-sinks";
    SwiftS3::instance().create_bucket(bucket);
    HttpReceiver receiver;
    const std::filesystem::path bad = tmp_ / "bad";
    std::filesystem::create_directories(bad);
    PipelineFile p{"cluster-two-sinks", source_.get(), kBackupRole, 2, bucket, "", ""};
    p.more_sinks = "\n[[sink]]\nname = \"bad\"\nplugin = \"sink-faulty\"\npath = \"" + bad.string() +
                   "\"\nfail_at = \"write\"\nafter = 20000\nkey = \"{pipeline}/%Y%m%dT%H%M%S\"\n\n"
                   "[[notify]]\nplugin = \"notify-webhook\"\non = [\"failure\"]\nurl = \"" +
                   receiver.url() + "\"\n";
    const std::filesystem::path file = write_pipeline(p, "two-sinks.toml");
    CommandResult run = run_backhaul({"run", file.string()}, kBackupPassword);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("sink 'bad' failed"));
    EXPECT_THAT(run.err, HasSubstr("injected write failure"));
    EXPECT_THAT(run.err, HasSubstr("complete_sinks=swift failed_sinks=bad"));

    std::smatch found;
    ASSERT_TRUE(std::regex_search(run.err, found, std::regex("complete copies of '(\\S+)' on 'swift'"))) << run.err;
    const std::string key = found[1];
    std::vector<std::string> expected = {key + "/databases/" + kCafeSegment + ".sql.gz",
                                         key + "/databases/" + kQuotedSegment + ".sql.gz",
                                         key + "/databases/orders.sql.gz",
                                         key + "/databases/postgres.sql.gz",
                                         key + "/globals.sql.gz",
                                         key + ".manifest.json"};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(bucket_keys(bucket), expected);
    EXPECT_EQ(SwiftS3::instance().pending_uploads(bucket), "");
    EXPECT_THAT(gunzip(bucket, key + "/databases/orders.sql.gz"), HasSubstr("CREATE DATABASE orders"));
    CommandResult verify = run_backhaul({"verify", file.string(), "--sink", "swift", "--key", key}, kBackupPassword);
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_THAT(verify.out, HasSubstr("verified set '" + key + "': 5 streams"));

    // Nothing of the failed copy: no object, no manifest, no marker (sink-faulty records its aborts in ABORTED).
    std::vector<std::string> left;
    for (const std::string& f : files_below(bad))
        if (f != "ABORTED") left.push_back(f);
    EXPECT_EQ(left, std::vector<std::string>{});

    auto requests = receiver.wait_for(1);
    ASSERT_EQ(requests.size(), 1u);
    nlohmann::json event = nlohmann::json::parse(requests[0]["body"].get<std::string>());
    EXPECT_EQ(event["outcome"], "failure");
    EXPECT_EQ(event["backup_complete"], true);
    EXPECT_EQ(event["stream_count"], 5);
    EXPECT_EQ(event["complete_sinks"], nlohmann::json::array({"swift"}));
    EXPECT_EQ(event["failed_sinks"], nlohmann::json::array({"bad"}));
}

class FailingDumpTest : public ::testing::Test {
  protected:
    // The largest database: streams start largest first, so with jobs = 1 it runs right after the globals (of unknown
    // size, so first).
    static constexpr const char* kFailing = "zz_fails";

    void SetUp() override {
        std::string error;
        server_ = PostgresServer::start_or_null(&error, [](PostgresServer& server) {
            server.query("postgres",
                         "CREATE DATABASE alpha; CREATE DATABASE beta; CREATE DATABASE " + std::string(kFailing) + ";");
            for (const char* db : {"alpha", "beta"})
                server.query(db,
                             "CREATE TABLE t (id int PRIMARY KEY, v text);"
                             "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;");
            // Two md5s a row do not compress much: about 43 MiB of dump, 20 MiB gzipped. The queues between the
            // stages hold at most 4 MiB each, so when pg_dump's failure is seen (at its end of output) the sink has
            // been handed well over one 5 MiB part: its upload is a multipart upload in flight, whatever the timing.
            server.query(kFailing,
                         "CREATE TABLE t (id int PRIMARY KEY, v text);"
                         "INSERT INTO t SELECT g, md5(g::text) || md5((g * 7)::text) "
                         "FROM generate_series(1, 600000) g;");
        });
        ASSERT_TRUE(server_) << error;
        // psql, pg_restore and pg_dumpall are taken from the pg_dump's directory.
        const std::filesystem::path bin = tmp_ / "bin";
        std::filesystem::create_directories(bin);
        for (const char* tool : {"psql", "pg_restore", "pg_dumpall"})
            std::filesystem::create_symlink(server_->bin_dir() / tool, bin / tool);
        // The database reaches pg_dump only as PGDATABASE, never in its argv (README: Backing up a cluster).
        const std::string real = (server_->bin_dir() / "pg_dump").string();
        write_file(bin / "pg_dump",
                   "#!/bin/sh\n"
                   "case \"$*\" in *--version*) exec " +
                       real +
                       " \"$@\";; esac\n"
                       "if [ \"$PGDATABASE\" = " +
                       std::string(kFailing) +
                       " ]; then\n"
                       "  " +
                       real +
                       " \"$@\"\n"
                       "  echo 'pg_dump: error: injected failure' >&2\n"
                       "  exit 3\n"
                       "fi\n"
                       "exec " +
                       real + " \"$@\"\n");
        std::filesystem::permissions(bin / "pg_dump", std::filesystem::perms(0755));
    }

    // `backhaul run` of every database and the globals, `jobs` at once, into a bucket of its own and a second sink,
    // a local directory (local_copy()).
    CommandResult run_backup(const std::string& pipeline, int jobs, const std::string& bucket) {
        SwiftS3::instance().create_bucket(bucket);
        std::filesystem::create_directories(tmp_ / "locks");
        std::filesystem::create_directories(local_copy());
        const std::string local = "\n[[sink]]\nname = \"local\"\nplugin = \"sink-local\"\npath = \"" +
                                  local_copy().string() + "\"\nfsync = false\nkey = \"{pipeline}/%Y%m%dT%H%M%S\"\n";
        const PipelineFile file{pipeline, server_.get(), server_->user(),
                                jobs,     bucket,        "pg_dump = \"" + (tmp_ / "bin" / "pg_dump").string() + "\"\n",
                                local};
        write_file(tmp_ / "pipeline.toml", set_pipeline_text(file, tmp_ / "locks"));
        return run_backhaul({"run", (tmp_ / "pipeline.toml").string()}, server_->password());
    }

    std::filesystem::path local_copy() const { return tmp_ / "local-copy"; }

    std::unique_ptr<PostgresServer> server_;
    TempDir tmp_;
};

class FailedStreamTest : public FailingDumpTest, public ::testing::WithParamInterface<int> {};

TEST_P(FailedStreamTest, OneFailedDatabaseLeavesNothingOfTheSetInTheBucket) {
    const int jobs = GetParam();
    const std::string bucket = "cluster-set-failed-stream-" + std::to_string(jobs);
    const std::string pipeline = "cluster-failed-" + std::to_string(jobs);
    CommandResult run = run_backup(pipeline, jobs, bucket);

    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("dumping database '" + std::string(kFailing) + "'"));
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: "));
    EXPECT_THAT(run.err, HasSubstr("pg_dump exited with status 3: pg_dump: error: injected failure"));
    EXPECT_THAT(run.err, HasSubstr("run failed, nothing committed: pipeline=" + pipeline));
    // The failing dump's upload had begun as a multipart upload, and was aborted.
    std::smatch started;
    ASSERT_TRUE(std::regex_search(run.err, started,
                                  std::regex("started multipart upload (\\S+) of s3://" + bucket + "/" + pipeline +
                                             "/[0-9T]+/databases/" + kFailing + "\\.sql\\.gz")))
        << run.err;
    EXPECT_THAT(run.err, HasSubstr("aborted multipart upload " + started[1].str()));

    // Every object a sink committed before the failure was removed again, on each sink: with jobs = 1 exactly the
    // globals (one at a time, the failing database next); with jobs = 2 the globals and whichever databases ran
    // beside the failing one.
    for (const std::string sink : {"swift", "local"}) {
        const std::regex committed("committed as '[^']*' on sink '" + sink + "'");
        const auto count =
            std::distance(std::sregex_iterator(run.err.begin(), run.err.end(), committed), std::sregex_iterator());
        if (jobs == 1) {
            EXPECT_EQ(count, 1) << sink << "\n" << run.err;
        }
        if (count > 0) {
            EXPECT_THAT(run.err, HasSubstr("sink." + sink + ": removed the " + std::to_string(count) +
                                           " object(s) this run had committed"))
                << run.err;
        }
    }
    if (jobs == 1) {
        EXPECT_THAT(run.err, ::testing::ContainsRegex("stream 'globals': .* committed as '"));
    }

    // On neither sink: the bucket, and the second sink's directory.
    EXPECT_EQ(bucket_keys(bucket), std::vector<std::string>{});
    EXPECT_EQ(SwiftS3::instance().pending_uploads(bucket), "");
    EXPECT_EQ(files_below(local_copy()), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Jobs, FailedStreamTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                             return "jobs_" + std::to_string(info.param);
                         });

// The run's error names the set's stream that failed, whichever stage failed in it.
TEST_F(FailingDumpTest, TheRunsErrorNamesTheFailingStream) {
    CommandResult run = run_backup("cluster-failed-named", 1, "cluster-set-failed-named");
    EXPECT_EQ(run.exit_code, 1) << run.err;
    std::smatch error;
    ASSERT_TRUE(std::regex_search(run.err, error, std::regex("error backup failed, nothing committed: [^\n]*")))
        << run.err;
    EXPECT_THAT(error[0].str(), HasSubstr("stream 'databases/" + std::string(kFailing) + "'"));
}

}  // namespace
}  // namespace backhaul::testing
