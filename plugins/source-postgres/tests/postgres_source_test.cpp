// source-postgres through its C ABI (no core) against a real PostgreSQL: descriptor, variables, preflight errors that
// need roles and privileges, cancellation and abandoned restores.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "plugin_harness.hpp"
#include "postgres_fixture.hpp"

namespace backhaul {
namespace {

using harness::Instance;
using harness::OptionList;
using harness::StreamResult;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PostgresServer;
using Argv = std::vector<std::string>;

const harness::Plugin& postgres_plugin() {
    static const harness::Plugin plugin("source-postgres");
    return plugin;
}

// True when this process has no child left, reaped or not.
bool no_children_left() {
    int status = 0;
    return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

class SourcePostgres : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = PostgresServer::start_or_null(&error_, [](PostgresServer& server) {
            server.query("postgres", R"SQL(
                CREATE DATABASE shop;
                CREATE ROLE no_connect LOGIN PASSWORD 'no-connect-pw';
                CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
                REVOKE CONNECT ON DATABASE shop FROM PUBLIC;
                GRANT CONNECT ON DATABASE shop TO reader;
            )SQL");
            server.query("shop", R"SQL(
                CREATE TABLE public.orders (id int);
                CREATE TABLE public.salaries (id int);
                GRANT SELECT ON public.orders TO reader;
                CREATE TABLE public.filler AS SELECT g, md5(g::text) AS t FROM generate_series(1, 200000) g;
            )SQL");
        });
    }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        ASSERT_TRUE(server_) << error_;
        // The pipeline's options must be all the plugin uses.
        for (const char* name : {"PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSFILE"})
            ::unsetenv(name);
    }

    OptionList options(OptionList extra = {}) const {
        return harness::overridden({{"host", server_->host()},
                                    {"port", server_->port()},
                                    {"user", server_->user()},
                                    {"database", "shop"},
                                    {"password", server_->password()},
                                    {"connect_timeout", 10000}},
                                   extra);
    }
    std::string at() const { return " at 127.0.0.1:" + std::to_string(server_->port()); }

    static inline std::unique_ptr<PostgresServer> server_;
    static inline std::string error_;
};

TEST_F(SourcePostgres, DescriptorDeclaresOptionsRestoreOptionsAndVariables) {
    const bh_plugin_descriptor& d = postgres_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_SOURCE);
    EXPECT_STREQ(d.name, "source-postgres");
    std::vector<std::string> names;
    for (uint32_t i = 0; i < d.option_count; ++i) names.push_back(d.options[i].name);
    EXPECT_EQ(names, (Argv{"host",
                           "port",
                           "user",
                           "database",
                           "password",
                           "sslmode",
                           "sslrootcert",
                           "format",
                           "schemas",
                           "exclude_schemas",
                           "tables",
                           "exclude_tables",
                           "no_owner",
                           "no_privileges",
                           "extra_args",
                           "pg_dump",
                           "connect_timeout",
                           "lock_wait_timeout",
                           "databases",
                           "exclude_databases",
                           "globals",
                           "maintenance_database"}));
    EXPECT_EQ(d.options[4].flags, uint32_t{BH_OPT_SECRET});
    EXPECT_EQ(d.options[3].flags, 0u);  // the database may come from libpq (PGDATABASE, a service, the user name)
    // Every option whose value reaches a client program's argv (flags) refuses ${secret:...}; the connection settings
    // reach the clients through their environment and may be secrets.
    std::vector<std::string> on_argv;
    for (uint32_t i = 0; i < d.option_count; ++i)
        if (d.options[i].flags & BH_OPT_ARGV) on_argv.push_back(d.options[i].name);
    EXPECT_EQ(on_argv, (Argv{"schemas", "exclude_schemas", "tables", "exclude_tables", "extra_args", "pg_dump",
                             "lock_wait_timeout", "maintenance_database"}));
    ASSERT_EQ(d.restore_option_count, 3u);
    EXPECT_STREQ(d.restore_options[0].name, "target_database");
    EXPECT_EQ(d.restore_options[0].flags, 0u);  // PGDATABASE, not argv
    EXPECT_STREQ(d.restore_options[1].name, "create");
    EXPECT_EQ(d.restore_options[1].type, BH_OPT_BOOL);
    EXPECT_STREQ(d.restore_options[2].name, "clean");
    std::vector<std::string> variables;
    for (const char* const* v = d.variables; *v; ++v) variables.push_back(*v);
    EXPECT_EQ(variables, (Argv{"database", "host", "server_version", "ext"}));
}

TEST_F(SourcePostgres, StreamsThePlainDumpAndPublishesVariables) {
    Instance source(postgres_plugin(), options({{"tables", Argv{"public.orders"}}}));
    ASSERT_EQ(source.create_status(), BH_OK) << source.last_error();
    EXPECT_EQ(source.host().variables().at("ext"), ".sql");
    StreamResult result = source.read_source();
    ASSERT_EQ(result.status, BH_END_OF_STREAM) << result.error;
    EXPECT_THAT(result.data, HasSubstr("CREATE TABLE public.orders"));
    EXPECT_THAT(result.data, Not(HasSubstr("salaries")));
    EXPECT_THAT(result.data, HasSubstr("-- PostgreSQL database dump complete"));
    std::string version = server_->query("postgres", "SHOW server_version");
    version.resize(version.find(' ') == std::string::npos ? version.size() : version.find(' '));
    const std::string table_data = server_->query("shop", "SELECT pg_table_size('public.orders')");
    std::map<std::string, std::string> expected{{"database", "shop"},
                                                {"host", "127.0.0.1"},
                                                {"server_version", version},
                                                {"ext", ".sql"},
                                                {"expected_bytes", table_data}};
    EXPECT_EQ(source.host().variables(), expected);
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourcePostgres, CustomFormatIsAPgRestoreArchive) {
    Instance source(postgres_plugin(), options({{"format", "custom"}, {"tables", Argv{"public.orders"}}}));
    EXPECT_EQ(source.host().variables().at("ext"), ".dump");
    StreamResult result = source.read_source();
    ASSERT_EQ(result.status, BH_END_OF_STREAM) << result.error;
    EXPECT_TRUE(result.data.starts_with("PGDMP"));
}

TEST_F(SourcePostgres, RefusedExtraArgsFailCreate) {
    Instance source(postgres_plugin(), options({{"extra_args", Argv{"--jobs=4"}}}));
    EXPECT_EQ(source.create_status(), BH_INVALID_CONFIG);
    EXPECT_EQ(source.last_error(),
              "option 'extra_args': '--jobs=4' is not allowed: parallel dumps need the directory "
              "format, which cannot stream");
}

// The problems validate reports, by option.
std::vector<std::pair<std::string, std::string>> validate(std::vector<bh_option_value> values) {
    std::vector<std::pair<std::string, std::string>> problems;
    bh_problem_sink sink{&problems, [](void* ctx, const char* option, const char* message) {
                             static_cast<std::vector<std::pair<std::string, std::string>>*>(ctx)->emplace_back(
                                 option ? option : "", message);
                         }};
    const bh_plugin_descriptor& d = postgres_plugin().descriptor();
    EXPECT_NE(d.validate, nullptr);
    bh_status status = d.validate(values.data(), static_cast<uint32_t>(values.size()), &sink);
    EXPECT_EQ(status, problems.empty() ? BH_OK : BH_INVALID_CONFIG);
    return problems;
}

std::vector<bh_option_value> bound(const harness::OptionValues& values) {
    return {values.data(), values.data() + values.size()};
}

TEST_F(SourcePostgres, ValidateRefusesWhatCreateRefusesWithoutIO) {
    const bh_plugin_descriptor& d = postgres_plugin().descriptor();
    harness::OptionValues refused(d.options, d.option_count, options({{"extra_args", Argv{"-f", "out.sql"}}}));
    EXPECT_EQ(
        validate(bound(refused)),
        (std::vector<std::pair<std::string, std::string>>{
            {"extra_args", "'-f' is not allowed: pg_dump must write to standard output, which Backhaul streams"}}));
    // Values from unfetched secrets (any connection setting may be one) are not read.
    harness::OptionValues fine(d.options, d.option_count, options());
    std::vector<bh_option_value> deferred = bound(fine);
    for (bh_option_value& value : deferred)
        if (std::string_view(value.name) == "database" || std::string_view(value.name) == "host") {
            value.is_set = BH_VALUE_DEFERRED;
            value.str = nullptr;
        }
    EXPECT_TRUE(validate(deferred).empty());
}

TEST_F(SourcePostgres, RangesAreLimitsTheHostChecks) {
    const bh_plugin_descriptor& d = postgres_plugin().descriptor();
    std::map<std::string, std::pair<int64_t, int64_t>> limits;
    for (uint32_t i = 0; i < d.limit_count; ++i)
        limits[d.limits[i].option] = {d.limits[i].flags & BH_LIMIT_MIN ? d.limits[i].min : -1,
                                      d.limits[i].flags & BH_LIMIT_MAX ? d.limits[i].max : -1};
    EXPECT_EQ(limits, (std::map<std::string, std::pair<int64_t, int64_t>>{{"port", {1, 65535}},
                                                                          {"database", {1, -1}},
                                                                          {"pg_dump", {1, -1}},
                                                                          {"connect_timeout", {1, -1}},
                                                                          {"maintenance_database", {1, -1}}}));
    ASSERT_EQ(d.restore_limit_count, 1u);
    EXPECT_STREQ(d.restore_limits[0].option, "target_database");
    EXPECT_EQ(d.restore_limits[0].min, 1);
}

TEST_F(SourcePostgres, PublishesTheTableDataAsExpectedBytes) {
    Instance source(postgres_plugin(), options({{"tables", Argv{"public.filler"}}}));
    harness::SourceStream stream(source);
    ASSERT_EQ(stream.open_status(), BH_OK) << source.last_error();
    const int64_t table = std::stoll(server_->query("shop", "SELECT pg_table_size('public.filler')"));
    EXPECT_EQ(source.host().variables().at("expected_bytes"), std::to_string(table));
    // Far below the database size, which counts every table, the indexes and the catalog.
    EXPECT_LT(table, std::stoll(server_->query("shop", "SELECT pg_database_size('shop')")));
}

TEST_F(SourcePostgres, MissingConnectPrivilege) {
    Instance source(postgres_plugin(), options({{"user", "no_connect"}, {"password", "no-connect-pw"}}));
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error,
              "user 'no_connect' may not connect to database 'shop'" + at() + " (missing CONNECT privilege)");
}

TEST_F(SourcePostgres, MissingTablePrivilegeFailsBeforePgDumpStarts) {
    Instance source(postgres_plugin(), options({{"user", "reader"}, {"password", "reader-pw"}}));
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error,
              "user 'reader' lacks the privileges to dump database 'shop': cannot read 2 relation(s), "
              "e.g. public.filler, public.salaries (grant SELECT and schema USAGE, or leave them out "
              "with exclude_tables or exclude_schemas)");
    EXPECT_TRUE(result.data.empty());
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourcePostgres, PasswordRequiredButNotSet) {
    OptionList list = options();
    list.erase(std::find_if(list.begin(), list.end(), [](const auto& o) { return o.first == "password"; }));
    Instance source(postgres_plugin(), list);
    StreamResult result = source.read_source();
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(
        result.error,
        "the server" + at() + " requires a password for user 'backhaul_test' but none is set: set option " +
            "'password' (e.g. from a ${secret:...}) or add the user to the password file (~/.pgpass, PGPASSFILE)");
}

TEST_F(SourcePostgres, CancelMidStreamKillsAndReapsPgDump) {
    Instance source(postgres_plugin(), options());
    harness::SourceStream stream(source);
    ASSERT_EQ(stream.open_status(), BH_OK) << source.last_error();
    std::string data;
    ASSERT_EQ(stream.read(data), BH_OK);
    EXPECT_FALSE(no_children_left());
    source.host().cancel();
    EXPECT_EQ(stream.read(data), BH_CANCELLED);
    stream.close();
    EXPECT_TRUE(no_children_left());
}

TEST_F(SourcePostgres, AbandonedRestoreLeavesNothingBehind) {
    server_->query("postgres", "CREATE DATABASE abandoned");
    Instance source(postgres_plugin(), options());
    {
        harness::RestoreTarget target(source, {{"target_database", "abandoned"}});
        ASSERT_EQ(target.open_status(), BH_OK) << source.last_error();
        // Complete statements: without the kill, psql would run them and commit at end of input.
        ASSERT_EQ(target.write("CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n"), BH_OK);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }  // restore_abort
    EXPECT_TRUE(no_children_left());
    EXPECT_EQ(server_->query("abandoned", "SELECT count(*) FROM pg_class WHERE relname = 't'"), "0");
}

TEST_F(SourcePostgres, ARestoreCutOffByACrashCommitsNothing) {
    server_->query("postgres", "CREATE DATABASE crashed");
    const pid_t pid = ::fork();
    ASSERT_NE(pid, -1);
    if (pid == 0) {
        // The child plays a backhaul killed mid-restore: _exit runs no destructor, so psql is not killed by us; it
        // only sees its input end, after complete statements.
        Instance source(postgres_plugin(), options());
        harness::RestoreTarget target(source, {{"target_database", "crashed"}});
        if (target.open_status() != BH_OK) ::_exit(2);
        if (target.write("CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n") != BH_OK) ::_exit(3);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    // The orphaned psql reads the end of its input and disconnects.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (server_->query("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'crashed'") != "0" &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(server_->query("crashed", "SELECT count(*) FROM pg_class WHERE relname = 't'"), "0");
}

TEST_F(SourcePostgres, RestoreCreateNeedsAFreeName) {
    Instance source(postgres_plugin(), options());
    StreamResult result = source.restore("SELECT 1;", {{"target_database", "shop"}, {"create", true}});
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(result.error, "target database 'shop' already exists" + at() + "; leave out --create to restore into it");
    StreamResult created =
        source.restore("CREATE TABLE fresh (x int);", {{"target_database", "brand new"}, {"create", true}});
    ASSERT_EQ(created.status, BH_OK) << created.error;
    EXPECT_EQ(server_->query("brand new", "SELECT count(*) FROM fresh"), "0");
}

}  // namespace
}  // namespace backhaul
