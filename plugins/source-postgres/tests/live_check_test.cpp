// `backhaul check`'s plugin side: source-postgres's check entry, called through the built plugin against a real
// PostgreSQL. Login (the endpoint and the server version), the client programs, and the privileges a dump of the
// configured selection needs, each a result with the reason and the fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "plugin_harness.hpp"
#include "postgres_fixture.hpp"

namespace backhaul {
namespace {

using harness::Instance;
using harness::OptionList;
using ::testing::HasSubstr;
using testing::PostgresServer;
using ::testing::StartsWith;
using testing::TempDir;
using Argv = std::vector<std::string>;

const harness::Plugin& postgres_plugin() {
    static const harness::Plugin plugin("source-postgres");
    return plugin;
}

struct CheckResult {
    std::string name;
    bool ok = false;
    std::string detail;
    std::string fix;
};

struct CheckRun {
    bh_status status = BH_FATAL;
    std::vector<CheckResult> results;

    const CheckResult& named(const std::string& prefix) const {
        for (const CheckResult& result : results)
            if (result.name.starts_with(prefix)) return result;
        throw std::runtime_error("no check named '" + prefix + "...'");
    }
    bool all_ok() const {
        return std::all_of(results.begin(), results.end(), [](const CheckResult& r) { return r.ok; });
    }
};

CheckRun run_check(Instance& source) {
    CheckRun run;
    bh_check_sink sink{&run.results,
                       [](void* ctx, const char* name, int32_t ok, const char* detail, const char* fix) {
                           static_cast<std::vector<CheckResult>*>(ctx)->push_back(
                               {name, ok != 0, detail ? detail : "", fix ? fix : ""});
                       },
                       nullptr};  // probe_key: sinks only
    if (!source.descriptor().check) throw std::runtime_error("source-postgres has no check entry");
    run.status = source.descriptor().check(source.raw(), &sink);
    return run;
}

class LiveCheck : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = PostgresServer::start_or_null(&error_, [](PostgresServer& server) {
            server.query("postgres", R"SQL(
                CREATE DATABASE shop;
                CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
                CREATE ROLE "No Connect" LOGIN PASSWORD 'no-connect-pw';
                REVOKE CONNECT ON DATABASE shop FROM PUBLIC;
                GRANT CONNECT ON DATABASE shop TO reader;
            )SQL");
            server.query("shop", R"SQL(
                CREATE TABLE public.orders (id int);
                CREATE TABLE public.salaries (id int);
                CREATE TABLE public.filler AS SELECT g FROM generate_series(1, 1000) g;
                CREATE SCHEMA hidden;
                CREATE TABLE hidden.t (x int);
                GRANT SELECT ON public.orders TO reader;
                SELECT lo_from_bytea(424242, '\x00ff'::bytea);
            )SQL");
            server.query("postgres", "CREATE DATABASE patterns");
            server.query("patterns", R"SQL(
                CREATE SCHEMA sales;
                CREATE SCHEMA "Mixed Case";
                CREATE TABLE public.orders (id int);
                CREATE TABLE public."Audit Log" (id int);
                CREATE TABLE sales.orders (id int);
                CREATE TABLE sales.customers (id int);
                CREATE SEQUENCE sales.invoice_seq;
                CREATE MATERIALIZED VIEW sales.customer_count AS SELECT count(*) FROM sales.customers;
                CREATE VIEW sales.all_orders AS SELECT * FROM sales.orders;
                CREATE TABLE "Mixed Case"."Order Items" (id int);
            )SQL");
            major_ = std::to_string(server.major());
        });
    }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        ASSERT_TRUE(server_) << error_;
        for (const char* name : {"PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSFILE", "PGSERVICE"})
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
    std::string endpoint() const { return "127.0.0.1:" + std::to_string(server_->port()); }
    OptionList as_reader(OptionList extra = {}) const {
        extra.emplace_back("user", "reader");
        extra.emplace_back("password", "reader-pw");
        return options(extra);
    }

    static inline std::unique_ptr<PostgresServer> server_;
    static inline std::string error_;
    static inline std::string major_;
};

TEST_F(LiveCheck, AllPassForASuperuser) {
    Instance source(postgres_plugin(), options());
    ASSERT_EQ(source.create_status(), BH_OK) << source.last_error();
    CheckRun run = run_check(source);
    EXPECT_EQ(run.status, BH_OK);
    EXPECT_TRUE(run.all_ok());
    std::vector<std::string> names;
    for (const CheckResult& r : run.results) names.push_back(r.name);
    EXPECT_EQ(names, (Argv{"log in to PostgreSQL at " + endpoint() + " as user 'backhaul_test', database 'shop'",
                           "find pg_dump " + major_ + " or newer", "find psql " + major_ + " or newer",
                           "USAGE on the schemas dumped", "SELECT on the tables and sequences dumped",
                           "SELECT on the large objects dumped"}));
    std::string version = server_->query("postgres", "SHOW server_version");
    EXPECT_EQ(run.results[0].detail, "PostgreSQL " + version.substr(0, version.find(' ')));
    // Which pg_dump, and its version.
    EXPECT_THAT(run.results[1].detail, StartsWith("pg_dump " + major_ + "."));
    EXPECT_THAT(run.results[1].detail, HasSubstr("/bin/pg_dump)"));
    EXPECT_EQ(run.results[3].detail, "2 schema(s)");
    EXPECT_THAT(run.results[4].detail, StartsWith("4 relation(s), "));
    EXPECT_EQ(run.results[5].detail, "1 large object(s)");
}

TEST_F(LiveCheck, CustomFormatLooksForPgRestore) {
    Instance source(postgres_plugin(), options({{"format", "custom"}}));
    CheckRun run = run_check(source);
    EXPECT_TRUE(run.named("find pg_restore " + major_ + " or newer").ok);
}

TEST_F(LiveCheck, WrongPasswordFailsAtLoginNamingTheEndpoint) {
    Instance source(postgres_plugin(), options({{"password", "Wr0ng-password"}}));
    CheckRun run = run_check(source);
    EXPECT_EQ(run.status, BH_FATAL);
    ASSERT_EQ(run.results.size(), 1u);  // nothing else can be checked without a login
    const CheckResult& login = run.results[0];
    EXPECT_FALSE(login.ok);
    EXPECT_EQ(login.name, "log in to PostgreSQL at " + endpoint());
    EXPECT_EQ(login.detail, "password authentication failed for user 'backhaul_test' at " + endpoint() +
                                " (check option 'password'; the password is not shown)");
    EXPECT_EQ(login.fix, "correct option 'password' (or the secret it comes from)");
    EXPECT_THAT(login.detail + login.fix, ::testing::Not(HasSubstr("Wr0ng-password")));
}

TEST_F(LiveCheck, WrongPasswordFromThePasswordFilePointsAtIt) {
    TempDir dir;
    const std::filesystem::path passfile = dir / "pgpass";
    testing::write_file(passfile, "127.0.0.1:" + std::to_string(server_->port()) + ":*:" + server_->user() + ":nope\n");
    ::chmod(passfile.c_str(), 0600);
    ::setenv("PGPASSFILE", passfile.c_str(), 1);
    OptionList list = options();
    list.erase(std::find_if(list.begin(), list.end(), [](const auto& o) { return o.first == "password"; }));
    Instance source(postgres_plugin(), list);
    CheckRun run = run_check(source);
    ::unsetenv("PGPASSFILE");
    ASSERT_EQ(run.results.size(), 1u);
    EXPECT_THAT(run.results[0].detail, HasSubstr("(check the password file (" + passfile.string() + ")"));
    EXPECT_THAT(run.results[0].fix, HasSubstr("the password file (~/.pgpass, PGPASSFILE)"));
}

TEST_F(LiveCheck, MissingConnectPrivilegeFailsAtLoginWithTheGrant) {
    Instance source(postgres_plugin(), options({{"user", "No Connect"}, {"password", "no-connect-pw"}}));
    CheckRun run = run_check(source);
    ASSERT_EQ(run.results.size(), 1u);
    EXPECT_EQ(run.results[0].detail,
              "user 'No Connect' may not connect to database 'shop' at " + endpoint() + " (missing CONNECT privilege)");
    EXPECT_EQ(run.results[0].fix, "GRANT CONNECT ON DATABASE shop TO \"No Connect\" (as the database's owner)");
}

TEST_F(LiveCheck, ARoleLackingPrivilegesGetsTheGrantsToRun) {
    Instance source(postgres_plugin(), as_reader());
    CheckRun run = run_check(source);
    EXPECT_EQ(run.status, BH_FATAL);
    EXPECT_TRUE(run.named("log in to PostgreSQL at " + endpoint() + " as user 'reader'").ok);
    EXPECT_TRUE(run.named("find pg_dump").ok);
    const CheckResult& usage = run.named("USAGE on the schemas dumped");
    EXPECT_FALSE(usage.ok);
    EXPECT_EQ(usage.detail, "user 'reader' lacks USAGE on 1 of 2 schema(s), e.g. hidden");
    EXPECT_EQ(usage.fix, "GRANT USAGE ON SCHEMA hidden TO reader, or leave them out with exclude_schemas");
    const CheckResult& select = run.named("SELECT on the tables and sequences dumped");
    EXPECT_FALSE(select.ok);
    EXPECT_EQ(select.detail,
              "user 'reader' cannot read 3 of 4 relation(s), e.g. hidden.t, public.filler, public.salaries");
    EXPECT_EQ(select.fix,
              "GRANT SELECT ON hidden.t, public.filler, public.salaries TO reader (and USAGE on their "
              "schemas), or leave them out with exclude_tables");
    const CheckResult& large_objects = run.named("SELECT on the large objects dumped");
    EXPECT_FALSE(large_objects.ok);
    EXPECT_EQ(large_objects.detail, "user 'reader' cannot read 1 of 1 large object(s), e.g. 424242");
    EXPECT_THAT(large_objects.fix, StartsWith("GRANT SELECT ON LARGE OBJECT 424242 TO reader, or "));
}

TEST_F(LiveCheck, PrivilegesFollowTheSelection) {
    // Only what pg_dump would read counts: a table selection (which also leaves large objects out) ...
    Instance tables(postgres_plugin(), as_reader({{"tables", Argv{"public.ORDERS"}}}));
    CheckRun only_orders = run_check(tables);
    EXPECT_TRUE(only_orders.all_ok()) << only_orders.named("SELECT on").detail;
    EXPECT_EQ(only_orders.named("SELECT on").detail.substr(0, 15), "1 relation(s), ");
    EXPECT_EQ(only_orders.status, BH_OK);
    // ... exclusions, and extra_args leaving large objects out.
    Instance excluded(postgres_plugin(), as_reader({{"exclude_schemas", Argv{"hid*"}},
                                                    {"exclude_tables", Argv{"salaries", "public.fill?r"}},
                                                    {"extra_args", Argv{"--no-blobs"}}}));
    CheckRun rest = run_check(excluded);
    EXPECT_TRUE(rest.all_ok()) << rest.named("SELECT on").detail;
    // A schema selection still finds the unreadable tables in it.
    Instance schema(postgres_plugin(), as_reader({{"schemas", Argv{"public"}}}));
    CheckRun in_public = run_check(schema);
    EXPECT_EQ(in_public.named("SELECT on").detail,
              "user 'reader' cannot read 2 of 3 relation(s), e.g. public.filler, public.salaries");
    EXPECT_TRUE(in_public.named("USAGE on").ok);
}

// The relations the privilege check counts are exactly those whose data pg_dump then writes, for selections that
// exercise pg_dump's pattern rules: case folding, quotes, wildcards, unqualified names (visible tables only),
// tables deciding over schemas, exclusions.
TEST_F(LiveCheck, RelationsCheckedAreThoseWhosePgDumpWritesData) {
    const std::vector<OptionList> selections = {
        {},
        {{"tables", Argv{"ORDERS"}}},
        {{"tables", Argv{"*.orders", "\"Mixed Case\".*"}}},
        {{"tables", Argv{"sales.*"}}, {"exclude_schemas", Argv{"sales"}}},
        {{"schemas", Argv{"sales"}}},
        {{"schemas", Argv{"sal*", "public"}}, {"exclude_tables", Argv{"sales.cust*", "orders"}}},
        {{"exclude_schemas", Argv{"sales"}}, {"exclude_tables", Argv{"\"Audit Log\""}}},
        {{"exclude_tables", Argv{"*.[ao]*"}}},
    };
    for (const OptionList& selection : selections) {
        OptionList list = selection;
        list.emplace_back("database", "patterns");
        std::string described;
        for (const auto& [name, value] : selection)
            for (const std::string& item : value.items) described += name + "=" + item + " ";
        Instance source(postgres_plugin(), options(list));
        CheckRun run = run_check(source);
        const std::string detail = run.named("SELECT on the tables and sequences dumped").detail;
        harness::StreamResult dump = source.read_source();
        ASSERT_EQ(dump.status, BH_END_OF_STREAM) << described << dump.error;
        int written = 0;
        std::istringstream lines(dump.data);
        for (std::string line; std::getline(lines, line);)
            written += line.starts_with("COPY ") || line.starts_with("SELECT pg_catalog.setval(") ||
                       line.starts_with("REFRESH MATERIALIZED VIEW ");
        EXPECT_EQ(detail.substr(0, detail.find(' ')), std::to_string(written)) << described << "\n" << detail;
    }
}

TEST_F(LiveCheck, MissingPgDumpNamesThePackage) {
    TempDir empty;
    const std::string path = std::getenv("PATH");
    ::setenv("PATH", empty.path().c_str(), 1);
    Instance source(postgres_plugin(), options({{"pg_dump", "pg_dump"}}));
    CheckRun run = run_check(source);
    ::setenv("PATH", path.c_str(), 1);
    EXPECT_EQ(run.status, BH_FATAL);
    EXPECT_TRUE(run.results.at(0).ok);
    const CheckResult& pg_dump = run.named("find pg_dump " + major_ + " or newer");
    EXPECT_FALSE(pg_dump.ok);
    EXPECT_EQ(pg_dump.detail, "cannot start command 'pg_dump': No such file or directory");
    EXPECT_THAT(pg_dump.fix, StartsWith("install postgresql-client-" + major_ + " (or newer"));
    EXPECT_FALSE(run.named("find psql").ok);
    // The privileges are still checked.
    EXPECT_TRUE(run.named("SELECT on the tables").ok);
}

TEST_F(LiveCheck, ChangesNothingOnTheServer) {
    auto state = [] {
        return server_->query("shop", "SELECT count(*) FROM pg_class") + "|" +
               server_->query("postgres", "SELECT count(*) FROM pg_database") + "|" +
               server_->query("shop", "SELECT count(*) FROM pg_largeobject_metadata");
    };
    const std::string before = state();
    Instance source(postgres_plugin(), options());
    EXPECT_EQ(run_check(source).status, BH_OK);
    EXPECT_EQ(state(), before);
}

}  // namespace
}  // namespace backhaul
