// source-postgres through the real `backhaul` binary against a real PostgreSQL: both formats round-trip through
// compress-gzip and sink-local into a new database with identical pg_dump output; every failure users of other tools
// hit most exits 1 with one clear line, commits nothing and never shows the password.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "command_runner.hpp"
#include "postgres_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
namespace fs = std::filesystem;
using Argv = std::vector<std::string>;

// Every kind of content a dump must carry unchanged.
const char* const kVariedContent = R"SQL(
CREATE SCHEMA sales;
CREATE SCHEMA "Mixed Case";
CREATE TABLE sales.customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    note text,
    photo bytea,
    profile jsonb,
    tags text[],
    balance numeric(30, 10),
    amount numeric,
    ratio double precision
);
INSERT INTO sales.customers (name, note, photo, profile, tags, balance, amount, ratio) VALUES
    ('한국어 고객', E'tab\there, newline\nand ''quotes'', "double", back\\slash, emoji 🎉', '\x00ff10deadbeef'::bytea,
     '{"a": [1, 2, {"b": null}], "키": "값", "n": 1.5e300}', ARRAY['a', 'b c', '"q"', NULL, '한'],
     99999999999999999999.9999999999, 'NaN', 'Infinity'),
    ('zero', '', ''::bytea, '{}', '{}', -0.0000000001, 1e-300, '-Infinity'),
    ('nulls', NULL, NULL, NULL, NULL, NULL, -12345678901234567890123456789.123456789, 'NaN'),
    ('\.', E'\\.', '\x5c2e'::bytea, '"\\."', ARRAY[E'\\.'], 0, 0, -0);
INSERT INTO sales.customers (name, amount) SELECT 'bulk ' || g, g * 1.5 FROM generate_series(1, 3000) g;
CREATE TABLE "Mixed Case"."Order Items" ("Item ID" int PRIMARY KEY, "select" text, customer int REFERENCES sales.customers);
INSERT INTO "Mixed Case"."Order Items" VALUES (1, 'ünïcödé', 1), (2, '日本語', 2);
CREATE SEQUENCE sales.invoice_seq START 1000;
SELECT nextval('sales.invoice_seq'), nextval('sales.invoice_seq');
CREATE VIEW sales.rich_customers AS SELECT name, balance FROM sales.customers WHERE balance > 1000;
CREATE FUNCTION sales.greet(who text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT '안녕하세요, ' || who $$;
SELECT lo_from_bytea(424242, '\xdeadbeef00ff'::bytea);
COMMENT ON TABLE sales.customers IS '고객 목록';
)SQL";

std::string file_text(const fs::path& path) { return read_file(path); }

// Processes whose parent is `parent` and whose command name is `name`.
std::vector<pid_t> children_named(pid_t parent, const std::string& name) {
    std::vector<pid_t> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string pid_text = entry.path().filename().string();
        if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string stat = file_text(entry.path() / "stat");
        size_t open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos) continue;
        std::string comm = stat.substr(open + 1, close - open - 1);
        std::istringstream rest(stat.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == parent && comm == name) found.push_back(std::stoi(pid_text));
    }
    return found;
}

// True if `needle` occurs in any process's command line.
bool in_any_cmdline(const std::string& needle) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
        if (entry.path().filename().string().find_first_not_of("0123456789") != std::string::npos) continue;
        if (file_text(entry.path() / "cmdline").find(needle) != std::string::npos) return true;
    }
    return false;
}

class PostgresPipeline : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = PostgresServer::start_or_null(&error_, [](PostgresServer& server) {
            server.query("postgres", "CREATE DATABASE source_db TEMPLATE template0");
            server.query("source_db", kVariedContent);
            server_version_ = server.query("postgres", "SHOW server_version");
            server_version_.resize(server_version_.find_first_of(" ") == std::string::npos
                                       ? server_version_.size()
                                       : server_version_.find_first_of(" "));
        });
    }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        ASSERT_TRUE(server_) << error_;
        port_ = server_->port();
        fs::create_directories(sink_dir());
    }

    fs::path sink_dir() const { return tmp_ / "sink"; }

    // A pipeline source-postgres -> [transforms] -> sink-local; `source_extra` adds or overrides source options.
    fs::path pipeline(const std::string& source_extra,
                      const std::string& transforms =
                          "[[transform]]\nplugin = "
                          "\"compress-gzip\"\n",
                      const std::string& database = "source_db",
                      const std::string& key =
                          "{database}/{server_version}/"
                          "backup{ext}") {
        std::string text =
            "name = \"pgtest\"\n\n[source]\nplugin = \"source-postgres\"\nhost = \"127.0.0.1\"\n"
            "port = " +
            std::to_string(port_) + "\nuser = \"" + server_->user() + "\"\ndatabase = \"" + database +
            "\"\npassword = \"${env:BACKHAUL_TEST_PG_PASSWORD}\"\n"
            "connect_timeout = \"10s\"\n" +
            source_extra + "\n" + transforms + "\n[sink]\nplugin = \"sink-local\"\npath = \"" + sink_dir().string() +
            "\"\nkey = \"" + key + "\"\n";
        fs::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }

    CommandResult backhaul(std::vector<std::string> args, CommandOptions options = {},
                           const std::string& password = "") {
        args.insert(args.begin(), BACKHAUL_BINARY);
        options.env["BACKHAUL_TEST_PG_PASSWORD"] = password.empty() ? server_->password() : password;
        // The plugin must not lean on libpq's environment: the pipeline says everything.
        for (const char* name : {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"}) options.env[name] = "";
        return run_command(args, options);
    }

    void expect_round_trip(const std::string& format, const std::string& expected_key, const std::string& target) {
        fs::path file = pipeline("format = \"" + format + "\"\n");
        CommandResult run = backhaul({"run", file.string()});
        ASSERT_EQ(run.exit_code, 0) << run.err;
        EXPECT_THAT(run.err, HasSubstr("backup committed"));
        EXPECT_THAT(files_below(sink_dir()), ::testing::ElementsAre(expected_key, expected_key + ".manifest.json"));

        CommandResult restore =
            backhaul({"restore", file.string(), "--key", expected_key, "--target-database", target, "--create"});
        ASSERT_EQ(restore.exit_code, 0) << restore.err;
        std::string original = server_->comparable_dump("source_db");
        std::string restored = server_->comparable_dump(target);
        EXPECT_THAT(original, HasSubstr("한국어 고객"));
        EXPECT_THAT(original, HasSubstr("lo_open('424242'"));
        EXPECT_TRUE(original == restored) << "dumps differ; restored:\n" << restored.substr(0, 4000);
        EXPECT_THAT(run.err + restore.err, Not(HasSubstr(server_->password())));
    }

    // Backs up with `file` (into an empty sink) and restores into a new database `target`, which must end up identical.
    void expect_backup_restores(const fs::path& file, const std::string& target, const CommandOptions& options) {
        CommandResult run = backhaul({"run", file.string()}, options);
        ASSERT_EQ(run.exit_code, 0) << run.err;
        CommandResult restore = backhaul(
            {"restore", file.string(), "--key", files_below(sink_dir()).at(0), "--target-database", target, "--create"},
            options);
        ASSERT_EQ(restore.exit_code, 0) << restore.err;
        EXPECT_TRUE(server_->comparable_dump("source_db") == server_->comparable_dump(target)) << target;
    }

    static inline std::unique_ptr<PostgresServer> server_;
    static inline std::string error_;
    static inline std::string server_version_;
    TempDir tmp_;
    int port_ = 0;  // what the pipeline's source connects to
};

TEST_F(PostgresPipeline, PlainFormatRoundTripsIdentically) {
    expect_round_trip("plain", "source_db/" + server_version_ + "/backup.sql.gz", "restored_plain");
    // What was stored is a gzip'd SQL script any psql reads.
    CommandResult gunzip = run_command({"gunzip", "-c", (sink_dir() / files_below(sink_dir())[0]).string()});
    EXPECT_THAT(gunzip.out, HasSubstr("CREATE TABLE sales.customers"));
    EXPECT_THAT(gunzip.out, HasSubstr("-- PostgreSQL database dump complete"));
}

TEST_F(PostgresPipeline, CustomFormatRoundTripsIdentically) {
    expect_round_trip("custom", "source_db/" + server_version_ + "/backup.dump.gz", "restored_custom");
    CommandResult gunzip = run_command({"gunzip", "-c", (sink_dir() / files_below(sink_dir())[0]).string()});
    EXPECT_TRUE(gunzip.out.starts_with("PGDMP"));
}

CommandOptions utf8_locale(std::map<std::string, std::string> more = {}) {
    CommandOptions options;
    options.env = std::move(more);
    options.env["LC_ALL"] = "C.UTF-8";  // check's marks are ✓ and ✗ only where the locale says UTF-8
    return options;
}

// `backhaul check` end to end: the source's own checks (login, clients, privileges) and the sink's probe, through the
// real binary. Nothing is left in the sink and nothing changes in the database.
TEST_F(PostgresPipeline, CheckPassesAndLeavesNothingBehind) {
    fs::path file = pipeline("");
    const std::string before = server_->comparable_dump("source_db");
    CommandResult check = backhaul({"check", file.string()}, utf8_locale());
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_THAT(check.out,
                HasSubstr("✓ source (source-postgres): log in to PostgreSQL at 127.0.0.1:" + std::to_string(port_)));
    EXPECT_THAT(check.out, HasSubstr("PostgreSQL " + server_version_));
    EXPECT_THAT(check.out, HasSubstr("every check passed"));
    EXPECT_THAT(check.out, Not(HasSubstr("✗")));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
    EXPECT_TRUE(server_->comparable_dump("source_db") == before);
}

TEST_F(PostgresPipeline, CheckNamesAWrongPasswordAndTheEndpoint) {
    fs::path file = pipeline("");
    CommandResult check = backhaul({"check", file.string()}, utf8_locale(), "not-the-password");
    EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
    EXPECT_THAT(check.out,
                HasSubstr("✗ source (source-postgres): log in to PostgreSQL at 127.0.0.1:" + std::to_string(port_)));
    EXPECT_THAT(check.out, HasSubstr("password"));
    EXPECT_THAT(check.out, HasSubstr("fix: "));
    EXPECT_THAT(check.out, HasSubstr("FAILED"));
    EXPECT_THAT(check.out + check.err, Not(HasSubstr("not-the-password")));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

TEST_F(PostgresPipeline, CheckFindsAMissingPgDump) {
    TempDir empty_path;
    fs::path file = pipeline("pg_dump = \"pg_dump\"\n");
    CommandResult check = backhaul({"check", file.string()}, utf8_locale({{"PATH", empty_path.path().string()}}));
    EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
    EXPECT_THAT(check.out, HasSubstr("✗ source (source-postgres): find pg_dump"));
    EXPECT_THAT(check.out, HasSubstr("fix: install postgresql-client-"));
    // The login still passed: one cause, one failed line.
    EXPECT_THAT(check.out, HasSubstr("✓ source (source-postgres): log in to"));
}

TEST_F(PostgresPipeline, RestoreRefusesANonEmptyDatabaseUnlessClean) {
    server_->query("postgres", "CREATE DATABASE busy");
    server_->query("busy",
                   "CREATE TABLE leftover (x int); CREATE SCHEMA sales; CREATE TABLE sales.customers (x int);"
                   "SELECT lo_from_bytea(424242, '\\x01');");
    fs::path file = pipeline("", "");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    const std::string key = files_below(sink_dir()).at(0);

    CommandResult refused = backhaul({"restore", file.string(), "--key", key, "--target-database", "busy"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.err,
                HasSubstr("restore failed: source (source-postgres): target database 'busy' is not empty (3 objects, "
                          "e.g. large object 424242, schema sales, table public.leftover); restore into an empty "
                          "database, or add --clean to drop its contents first"));
    EXPECT_EQ(server_->query("busy", "SELECT count(*) FROM sales.customers"), "0");  // untouched

    CommandResult cleaned = backhaul({"restore", file.string(), "--key", key, "--target-database", "busy", "--clean"});
    ASSERT_EQ(cleaned.exit_code, 0) << cleaned.err;
    EXPECT_TRUE(server_->comparable_dump("source_db") == server_->comparable_dump("busy"));
}

TEST_F(PostgresPipeline, RestoreTargetErrors) {
    fs::path file = pipeline("", "");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    const std::string key = files_below(sink_dir()).at(0);
    const std::string at = " at 127.0.0.1:" + std::to_string(server_->port());

    CommandResult missing = backhaul({"restore", file.string(), "--key", key, "--target-database", "nowhere"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_THAT(missing.err, HasSubstr("restore failed: source (source-postgres): target database 'nowhere' does not "
                                       "exist" +
                                       at + "; add --create to create it"));
    // An empty name would be libpq's "not given" (the default database): refused by the restore limits.
    CommandResult empty = backhaul({"restore", file.string(), "--key", key, "--target-database="});
    EXPECT_EQ(empty.exit_code, 2) << empty.err;
    EXPECT_THAT(empty.err, HasSubstr("restore option '--target-database': must not be empty"));
    CommandResult exists =
        backhaul({"restore", file.string(), "--key", key, "--target-database", "source_db", "--create"});
    EXPECT_EQ(exists.exit_code, 1);
    EXPECT_THAT(exists.err, HasSubstr("target database 'source_db' already exists" + at +
                                      "; leave out --create to restore into it"));

    // A dump that fails half-way (SQL error) rolls back completely: BEGIN first, ON_ERROR_STOP, no COMMIT reached.
    server_->query("postgres", "CREATE DATABASE half");
    write_file(sink_dir() / "broken.sql",
               "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nSELECT no_such_function();\n");
    CommandResult failed = backhaul({"restore", file.string(), "--key", "broken.sql", "--target-database", "half"});
    EXPECT_EQ(failed.exit_code, 1);
    EXPECT_THAT(failed.err, HasSubstr("restore failed: source (source-postgres): psql exited with status 3: "
                                      "psql:<stdin>:3: ERROR:  function no_such_function() does not exist"));
    EXPECT_EQ(server_->query("half", "SELECT count(*) FROM pg_class WHERE relname = 'a'"), "0");
}

bool database_exists(PostgresServer& server, const std::string& name) {
    return server.query("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") == "1";
}

TEST_F(PostgresPipeline, FailedRestoreDropsTheDatabaseItCreated) {
    // A client error (finish fails): the dump's first statements ran in the new database, then psql stopped.
    fs::path file = pipeline("", "");
    write_file(sink_dir() / "broken.sql",
               "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nSELECT no_such_function();\n");
    CommandResult failed =
        backhaul({"restore", file.string(), "--key", "broken.sql", "--target-database", "created_broken", "--create"});
    EXPECT_EQ(failed.exit_code, 1);
    EXPECT_THAT(failed.err,
                HasSubstr("psql exited with status 3: psql:<stdin>:3: ERROR:  function no_such_function()"));
    EXPECT_THAT(failed.err, HasSubstr("restore failed: dropping database 'created_broken', which it created"));
    EXPECT_FALSE(database_exists(*server_, "created_broken"));

    // A truncated backup (the stream breaks mid-way, the restore is abandoned): the same.
    fs::remove_all(sink_dir());
    fs::create_directories(sink_dir());
    file = pipeline("");
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    const std::string key = "source_db/" + server_version_ + "/backup.sql.gz";
    fs::resize_file(sink_dir() / key, fs::file_size(sink_dir() / key) / 2);
    CommandResult truncated =
        backhaul({"restore", file.string(), "--key", key, "--target-database", "created_truncated", "--create"});
    EXPECT_EQ(truncated.exit_code, 1);
    EXPECT_THAT(truncated.err, HasSubstr("restoring into database 'created_truncated'"));  // it did start
    EXPECT_THAT(truncated.err, HasSubstr("restore failed: dropping database 'created_truncated', which it created"));
    EXPECT_FALSE(database_exists(*server_, "created_truncated"));
}

TEST_F(PostgresPipeline, FailedRestoreNeverDropsADatabaseItDidNotCreate) {
    fs::path file = pipeline("", "");
    write_file(sink_dir() / "broken.sql", "CREATE TABLE a (x int);\nSELECT no_such_function();\n");
    server_->query("postgres", "CREATE DATABASE existed_before");
    CommandResult failed =
        backhaul({"restore", file.string(), "--key", "broken.sql", "--target-database", "existed_before"});
    EXPECT_EQ(failed.exit_code, 1);
    EXPECT_THAT(failed.err, HasSubstr("psql exited with status 3"));
    EXPECT_THAT(failed.err, Not(HasSubstr("dropping database")));
    EXPECT_TRUE(database_exists(*server_, "existed_before"));
    // --create on an existing database is refused before anything is created, so nothing is dropped either.
    CommandResult refused =
        backhaul({"restore", file.string(), "--key", "broken.sql", "--target-database", "existed_before", "--create"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.err, HasSubstr("target database 'existed_before' already exists"));
    EXPECT_THAT(refused.err, Not(HasSubstr("dropping database")));
    EXPECT_TRUE(database_exists(*server_, "existed_before"));
}

TEST_F(PostgresPipeline, PlainBackupOfADatabaseWithLargeObjectsWarns) {
    const std::string warning =
        "database 'source_db' has 1 large object(s): a restore of this plain-format dump into an existing database "
        "is not atomic (the dump commits large objects on its own); use format = \"custom\"";
    CommandResult plain = backhaul({"run", pipeline("format = \"plain\"\n", "").string()});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_THAT(plain.err, HasSubstr(warning));
    CommandResult custom = backhaul({"run", pipeline("format = \"custom\"\n", "").string()});
    ASSERT_EQ(custom.exit_code, 0) << custom.err;
    EXPECT_THAT(custom.err, Not(HasSubstr("large object")));

    server_->query("postgres", "CREATE DATABASE without_large_objects");
    server_->query("without_large_objects", "CREATE TABLE t (x int)");
    CommandResult none = backhaul({"run", pipeline("", "", "without_large_objects").string()});
    ASSERT_EQ(none.exit_code, 0) << none.err;
    EXPECT_THAT(none.err, Not(HasSubstr("large object")));
}

TEST_F(PostgresPipeline, PgDumpKilledMidStreamExitsOneAndCommitsNothing) {
    // Enough data that gzip at level 9 keeps pg_dump blocked on its pipe for a while.
    server_->query("postgres", "CREATE DATABASE big");
    server_->query("big",
                   "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g * 7)::text) AS a "
                   "FROM generate_series(1, 600000) g");
    fs::path file = pipeline("", "[[transform]]\nplugin = \"compress-gzip\"\nlevel = 9\n", "big");
    bool killed = false, password_in_argv = true;
    CommandOptions options;
    options.after = std::chrono::milliseconds(50);
    options.while_running = [&](pid_t backhaul_pid) {
        // Wait until bytes reached the sink (mid-stream), then SIGKILL pg_dump.
        for (int i = 0; i < 400 && !killed; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
            bool streaming = false;
            for (const auto& e : fs::recursive_directory_iterator(sink_dir()))
                streaming = streaming || (e.is_regular_file() && e.file_size() > 0);
            if (!streaming) continue;
            std::vector<pid_t> dumps = children_named(backhaul_pid, "pg_dump");
            if (dumps.empty()) continue;
            password_in_argv = in_any_cmdline(server_->password());
            killed = ::kill(dumps[0], SIGKILL) == 0;
        }
    };
    CommandResult run = backhaul({"run", file.string()}, options);
    ASSERT_TRUE(killed) << "pg_dump finished before it could be killed";
    EXPECT_FALSE(password_in_argv);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: source (source-postgres): pg_dump was killed by "
                                   "signal 9 (SIGKILL)"));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

TEST_F(PostgresPipeline, WrongPasswordIsOneClearLineAndNeverShown) {
    const std::string wrong = "Wr0ng-" + server_->password().substr(3, 10) + "-pw";
    fs::path file = pipeline("");
    CommandResult run = backhaul({"run", file.string()}, {}, wrong);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err,
                HasSubstr("backup failed, nothing committed: source (source-postgres): password "
                          "authentication failed for user 'backhaul_test' at 127.0.0.1:" +
                          std::to_string(server_->port()) + " (check option 'password'; the password is not shown)"));
    EXPECT_THAT(run.out + run.err, Not(HasSubstr(wrong)));
    EXPECT_THAT(run.out + run.err, Not(HasSubstr(server_->password())));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

struct ConnectFailureCase {
    std::string name;
    bool unreachable;  // connect to a port nobody listens on
    std::string source_extra;
    std::string database;
    std::string expected;  // after "source (source-postgres): "; {port} and {unused} are substituted

    friend void PrintTo(const ConnectFailureCase& c, std::ostream* os) { *os << c.name; }
};

class PostgresPipelineFailure : public PostgresPipeline, public ::testing::WithParamInterface<ConnectFailureCase> {};

TEST_P(PostgresPipelineFailure, ExitsOneWithTheSpecificErrorAndCommitsNothing) {
    const ConnectFailureCase& c = GetParam();
    std::string unused = std::to_string(PostgresServer::free_port());
    auto substitute = [&](std::string text) {
        for (auto [name, value] : {std::pair<std::string, std::string>{"{port}", std::to_string(server_->port())},
                                   {"{unused}", unused},
                                   {"{version}", server_version_},
                                   {"{major}", server_version_.substr(0, server_version_.find('.'))},
                                   {"{dir}", tmp_.path().string()}})
            for (size_t at; (at = text.find(name)) != std::string::npos;) text.replace(at, name.size(), value);
        return text;
    };
    write_file(tmp_ / "pg_dump", "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n");
    ::chmod((tmp_ / "pg_dump").c_str(), 0755);
    if (c.unreachable) port_ = std::stoi(unused);
    fs::path file = pipeline(substitute(c.source_extra), "", c.database);
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err,
                HasSubstr("backup failed, nothing committed: source (source-postgres): " + substitute(c.expected)));
    EXPECT_THAT(run.out + run.err, Not(HasSubstr(server_->password())));
    EXPECT_THAT(files_below(sink_dir()), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Postgres, PostgresPipelineFailure,
    ::testing::Values(
        ConnectFailureCase{"UnreachableServer", true, "", "source_db",
                           "cannot connect to PostgreSQL at 127.0.0.1:{unused} as user 'backhaul_test' to "
                           "database 'source_db': connection refused"},
        ConnectFailureCase{"UnknownDatabase", false, "", "no_such_db",
                           "database 'no_such_db' does not exist at 127.0.0.1:{port}"},
        ConnectFailureCase{
            "PgDumpOlderThanServer", false, "pg_dump = \"{dir}/pg_dump\"\n", "source_db",
            "pg_dump 9.6.24 ({dir}/pg_dump) is older than the server (PostgreSQL {version}) and cannot "
            "dump it: install postgresql-client-{major} or newer (https://www.postgresql.org/download/), "
            "or set option 'pg_dump' to a pg_dump of version {major} or newer"}),
    [](const ::testing::TestParamInfo<ConnectFailureCase>& info) { return info.param.name; });

// One call of a wrapped client: its arguments as the kernel shows them to every local user (/proc/<pid>/cmdline,
// without the shell and script path) and what it found in its environment.
struct ClientCall {
    std::vector<std::string> args;
    std::string env;
};

std::vector<ClientCall> client_calls(const fs::path& log) {
    std::vector<ClientCall> calls;
    std::istringstream in(read_file(log));
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> fields;
        std::istringstream split(line);
        for (std::string field; std::getline(split, field, '|');) fields.push_back(field);
        if (fields.size() < 3) throw std::runtime_error("unexpected client call: " + line);
        calls.push_back({{fields.begin() + 2, fields.end() - 1}, fields.back()});
    }
    return calls;
}

TEST_F(PostgresPipeline, ConnectionSettingsReachChildrenOnlyThroughTheEnvironment) {
    // Wrappers around the real clients record their command line and what arrived in their environment.
    fs::path bin = tmp_ / "bin";
    fs::create_directories(bin);
    for (const char* tool : {"pg_dump", "psql", "pg_restore"}) {
        write_file(bin / tool,
                   "#!/bin/sh\n{ tr '\\0' '|' < /proc/$$/cmdline; echo \"PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER "
                   "PGDATABASE=$PGDATABASE PGPASSWORD=${PGPASSWORD:+set} "
                   "PGAPPNAME=$PGAPPNAME${SECRET_KEY:+ SECRET_KEY leaked}\"; } >> '" +
                       (tmp_ / "calls.log").string() + "'\nexec '" + (server_->bin_dir() / tool).string() +
                       "' \"$@\"\n");
        ::chmod((bin / tool).c_str(), 0755);
    }
    for (const char* format : {"plain", "custom"}) {
        fs::remove_all(sink_dir());
        fs::create_directories(sink_dir());
        fs::path file =
            pipeline("format = \"" + std::string(format) + "\"\npg_dump = \"" + (bin / "pg_dump").string() + "\"\n");
        // Backhaul's own environment (here a cloud key) is not the clients' business.
        CommandOptions with_cloud_key;
        with_cloud_key.env["SECRET_KEY"] = "ncloud-Secret-Key-0xdeadbeef";
        expect_backup_restores(file, std::string("via_wrapper_") + format, with_cloud_key);
    }
    // pg_dump --version (probe) and pg_dump (dump) per format, then psql or pg_restore.
    std::vector<ClientCall> calls = client_calls(tmp_ / "calls.log");
    ASSERT_EQ(calls.size(), 6u) << read_file(tmp_ / "calls.log");
    EXPECT_EQ(calls[1].args, (Argv{"--format=plain", "--no-password"}));
    EXPECT_EQ(calls[2].args,
              (Argv{"-X", "--quiet", "-v", "ON_ERROR_STOP=1", "--no-password", "--command=BEGIN", "--file=-"}));
    EXPECT_EQ(calls[4].args, (Argv{"--format=custom", "--no-password"}));
    // An empty --dbname: restore into a database (PGDATABASE) rather than print a script.
    EXPECT_EQ(calls[5].args, (Argv{"--exit-on-error", "--single-transaction", "--no-password", "--dbname="}));
    const std::string port = std::to_string(server_->port());
    EXPECT_THAT(read_file(tmp_ / "calls.log"), Not(HasSubstr("SECRET_KEY leaked")));
    for (const ClientCall& call : calls)
        for (const std::string& arg : call.args)
            for (const std::string& setting : {std::string("127.0.0.1"), port, server_->user(), server_->password(),
                                               std::string("source_db"), std::string("via_wrapper")})
                EXPECT_THAT(arg, Not(HasSubstr(setting)));
    const std::string connection = "PGHOST=127.0.0.1 PGPORT=" + port + " PGUSER=" + server_->user() + " PGDATABASE=";
    for (size_t i : {1, 4}) EXPECT_EQ(calls[i].env, connection + "source_db PGPASSWORD=set PGAPPNAME=backhaul");
    EXPECT_EQ(calls[2].env, connection + "via_wrapper_plain PGPASSWORD=set PGAPPNAME=backhaul");
    EXPECT_EQ(calls[5].env, connection + "via_wrapper_custom PGPASSWORD=set PGAPPNAME=backhaul");
}

TEST_F(PostgresPipeline, ConfiguredSettingsWinOverAnInheritedService) {
    // libpq lets a service's settings beat environment variables: the clients must still connect where the preflight
    // did, to the configured host, port, user and database, as when these were on their command line.
    const std::string unused = std::to_string(PostgresServer::free_port());
    write_file(tmp_ / "services",
               "[elsewhere]\nhost=127.0.0.1\nport=" + unused + "\nuser=nobody_here\ndbname=nowhere\n");
    CommandOptions with_service;
    with_service.env["PGSERVICE"] = "elsewhere";
    with_service.env["PGSERVICEFILE"] = (tmp_ / "services").string();
    expect_backup_restores(pipeline("", ""), "from_service_run", with_service);
}

TEST_F(PostgresPipeline, ASourceWithoutConnectionOptionsUsesLibpqsVariables) {
    // As psql would be run from cron: where, as whom and which database all come from libpq's environment, and the key
    // names the database and host libpq resolved.
    fs::path file = tmp_ / "from_env.toml";
    write_file(file,
               "name = \"pgenv\"\n\n[source]\nplugin = \"source-postgres\"\nformat = \"custom\"\n\n[sink]\n"
               "plugin = \"sink-local\"\npath = \"" +
                   sink_dir().string() + "\"\nkey = \"{database}/{host}/backup{ext}\"\n");
    CommandOptions options;
    options.env = server_->client_env();  // PGHOST, PGPORT, PGUSER, PGPASSWORD
    options.env["PGDATABASE"] = "source_db";
    CommandResult validate = run_command({BACKHAUL_BINARY, "validate", file.string()}, options);
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    CommandResult run = run_command({BACKHAUL_BINARY, "run", file.string()}, options);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err,
                HasSubstr("at 127.0.0.1:" + std::to_string(server_->port()) + " as user '" + server_->user() + "'"));
    EXPECT_THAT(files_below(sink_dir()), ::testing::ElementsAre("source_db/127.0.0.1/backup.dump",
                                                                "source_db/127.0.0.1/backup.dump.manifest.json"));
    CommandResult restore =
        run_command({BACKHAUL_BINARY, "restore", file.string(), "--key", "source_db/127.0.0.1/backup.dump",
                     "--target-database", "from_libpq_env", "--create"},
                    options);
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_TRUE(server_->comparable_dump("source_db") == server_->comparable_dump("from_libpq_env"));
}

TEST_F(PostgresPipeline, HostAndUserMayComeFromASecret) {
    fs::path file = pipeline("format = \"custom\"\n", "");
    std::string text = read_file(file);
    for (auto [from, to] : {std::pair<std::string, std::string>{"host = \"127.0.0.1\"", "host = \"${secret:x.host}\""},
                            {"user = \"" + server_->user() + "\"", "user = \"${secret:x.user}\""}}) {
        size_t at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
    }
    write_file(file, text +
                         "\n[secrets.x]\nplugin = \"secret-env\"\n"
                         "fields = { host = \"BACKHAUL_TEST_PG_HOST\", user = \"BACKHAUL_TEST_PG_USER\" }\n");
    CommandOptions from_secret;
    from_secret.env["BACKHAUL_TEST_PG_HOST"] = "127.0.0.1";
    from_secret.env["BACKHAUL_TEST_PG_USER"] = server_->user();
    CommandResult validate = backhaul({"validate", file.string()}, from_secret);
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    expect_backup_restores(file, "from_secret_user", from_secret);
}

}  // namespace
}  // namespace backhaul::testing
