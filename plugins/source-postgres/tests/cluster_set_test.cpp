// source-postgres backing up a cluster as a set (docs/sets.md) through the C ABI against real PostgreSQL servers:
// which options make a set, the streams a cluster with hostile database names yields, the globals with and without
// role passwords, and a round trip of every stream into a freshly initialised second cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

const std::string kWeird = "we\"ird name";
const std::string kCafe = "Caf\xC3\xA9 \xC3\xBCn\xC3\xAF";  // Café ünï
const std::string kDash = "-dash";

// Roles with memberships, databases with owners, grants, comments and data; a template that a set leaves out.
void populate(PostgresServer& server) {
    server.query("postgres", R"SQL(
        CREATE ROLE alice LOGIN PASSWORD 'alice-pw' CREATEDB CONNECTION LIMIT 7;
        CREATE ROLE "Bob ""the"" bóss" NOLOGIN;
        CREATE ROLE staff NOLOGIN;
        GRANT staff TO alice;
        GRANT staff TO "Bob ""the"" bóss" WITH ADMIN OPTION;
        -- A backup role that is no superuser and reads the data through grants. (pg_read_all_data would read
        -- pg_authid too, and with it the role passwords.)
        CREATE ROLE backup LOGIN PASSWORD 'backup-pw' IN ROLE staff;
        CREATE DATABASE "we""ird name" OWNER alice;
        CREATE DATABASE "Café ünï";
        CREATE DATABASE "-dash";
        CREATE DATABASE tmpl IS_TEMPLATE true;
        COMMENT ON DATABASE "-dash" IS 'leading dash';
        REVOKE CONNECT ON DATABASE "Café ünï" FROM PUBLIC;
        GRANT CONNECT ON DATABASE "Café ünï" TO staff, backup;
    )SQL");
    for (const std::string& db : {kWeird, kCafe, kDash})
        server.query(db, R"SQL(
            CREATE SCHEMA app AUTHORIZATION alice;
            CREATE TABLE app.items (id int PRIMARY KEY, label text);
            INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 500) g;
            ALTER TABLE app.items OWNER TO alice;
            GRANT SELECT ON app.items TO staff;
            GRANT USAGE ON SCHEMA app TO staff;
        )SQL");
    server.query(kWeird, "CREATE TABLE app.secret (x int)");  // staff (and so backup) may not read it
    // `postgres` exists in every cluster: its dump does not create it, and restores into the fresh cluster's own.
    server.query("postgres", R"SQL(
        CREATE TABLE public.kept_in_postgres (id int PRIMARY KEY, note text);
        INSERT INTO public.kept_in_postgres VALUES (1, 'in the maintenance database');
        GRANT SELECT ON public.kept_in_postgres TO staff;
    )SQL");
}

class ClusterSet : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = PostgresServer::start_or_null(&error_, populate); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        ASSERT_TRUE(server_) << error_;
        for (const char* name : {"PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSFILE"})
            ::unsetenv(name);
    }

    static OptionList connection(const PostgresServer& server, OptionList extra = {}) {
        return harness::overridden({{"host", server.host()},
                                    {"port", server.port()},
                                    {"user", server.user()},
                                    {"password", server.password()},
                                    {"connect_timeout", 10000}},
                                   extra);
    }
    OptionList options(OptionList extra = {}) const { return connection(*server_, std::move(extra)); }
    std::string at(const PostgresServer& server) const { return "127.0.0.1:" + std::to_string(server.port()); }

    static std::vector<std::string> names(const std::vector<SetStream>& streams) {
        std::vector<std::string> out;
        for (const SetStream& stream : streams) out.push_back(stream.name);
        return out;
    }

    static inline std::unique_ptr<PostgresServer> server_;
    static inline std::string error_;
};

bool makes_set(const OptionList& given) {
    const bh_plugin_descriptor& d = postgres_plugin().descriptor();
    harness::OptionValues values(d.options, d.option_count, given);
    return produces_set(d, std::span<const bh_option_value>(values.data(), values.size()));
}

TEST(ClusterSetOptions, ProducesSetTruthTable) {
    EXPECT_FALSE(makes_set({}));
    EXPECT_FALSE(makes_set({{"database", "shop"}}));
    EXPECT_FALSE(makes_set({{"globals", false}}));
    EXPECT_TRUE(makes_set({{"globals", true}}));
    EXPECT_TRUE(makes_set({{"globals", true}, {"database", "shop"}}));
    EXPECT_TRUE(makes_set({{"databases", Argv{"*"}}}));
    EXPECT_TRUE(makes_set({{"databases", Argv{"a", "b"}}, {"globals", false}}));
}

std::vector<std::pair<std::string, std::string>> validate(const OptionList& given) {
    const bh_plugin_descriptor& d = postgres_plugin().descriptor();
    harness::OptionValues values(d.options, d.option_count, given);
    std::vector<std::pair<std::string, std::string>> problems;
    bh_problem_sink sink{&problems, [](void* ctx, const char* option, const char* message) {
                             static_cast<std::vector<std::pair<std::string, std::string>>*>(ctx)->emplace_back(
                                 option ? option : "", message);
                         }};
    d.validate(values.data(), values.size(), &sink);
    return problems;
}

TEST(ClusterSetOptions, ValidateNamesTheOptionOfEachProblem) {
    using Problems = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(validate({{"databases", Argv{"a"}}, {"database", "b"}}),
              (Problems{{"databases",
                         "not together with option 'database': a set names its databases in "
                         "'databases' (or leave 'databases' out to back up 'database' alone)"}}));
    EXPECT_EQ(validate({{"exclude_databases", Argv{"a"}}}),
              (Problems{{"exclude_databases", "only applies together with option 'databases'"}}));
    EXPECT_EQ(validate({{"databases", Argv{}}}),
              (Problems{{"databases", "names no database; give names, or [\"*\"] for every database"}}));
    EXPECT_EQ(validate({{"databases", Argv{"*", "x"}}}).size(), 1u);
    EXPECT_TRUE(validate({{"databases", Argv{"*"}}, {"exclude_databases", Argv{"x"}}, {"globals", true}}).empty());
}

TEST_F(ClusterSet, StreamsNameEveryConnectableDatabaseVerbatimAndPickUpNewOnes) {
    Instance source(postgres_plugin(), options({{"databases", Argv{"*"}}, {"globals", true}}));
    ASSERT_EQ(source.create_status(), BH_OK) << source.last_error();
    bh_status status = BH_FATAL;
    std::vector<SetStream> streams = source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    // Templates (template0, template1, tmpl) are not in it; byte order of the names.
    EXPECT_EQ(names(streams), (Argv{"globals", "databases/" + kDash, "databases/" + kCafe, "databases/postgres",
                                    "databases/" + kWeird}));
    EXPECT_EQ(streams[0].ext, ".sql");
    EXPECT_EQ(streams[0].restore_phase, 0);
    EXPECT_TRUE(streams[0].variables.empty());
    EXPECT_EQ(streams[4].ext, ".sql");
    EXPECT_EQ(streams[4].restore_phase, 1);
    const int64_t table_data = std::stoll(server_->query(kWeird, "SELECT pg_table_size('app.items')"));
    const int64_t postgres_data = std::stoll(server_->query("postgres", "SELECT pg_table_size('kept_in_postgres')"));
    // Each database's stream carries its own expected size, which the host orders the streams by.
    EXPECT_EQ(streams[4].variables,
              (std::map<std::string, std::string>{
                  {"creates_database", "true"}, {"database", kWeird}, {"expected_bytes", std::to_string(table_data)}}));
    EXPECT_EQ(streams[3].variables.at("creates_database"), "false");  // postgres: see ThePostgresStream... below
    EXPECT_EQ(streams[3].variables.at("expected_bytes"), std::to_string(postgres_data));
    EXPECT_EQ(std::stoll(source.host().variables().at("expected_bytes")), 3 * table_data + postgres_data);

    server_->query("postgres", "CREATE DATABASE late");
    std::vector<SetStream> again = source.list_streams(status);
    server_->query("postgres", "DROP DATABASE late");
    ASSERT_EQ(status, BH_OK) << source.last_error();
    EXPECT_THAT(names(again), ::testing::Contains("databases/late"));
}

TEST_F(ClusterSet, ExclusionsAndExplicitNamesAndCustomFormat) {
    Instance source(postgres_plugin(), options({{"databases", Argv{kWeird, kDash, "postgres"}},
                                                {"exclude_databases", Argv{"postgres"}},
                                                {"format", "custom"}}));
    bh_status status = BH_FATAL;
    std::vector<SetStream> streams = source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    EXPECT_EQ(names(streams), (Argv{"databases/" + kWeird, "databases/" + kDash}));
    EXPECT_EQ(streams[0].ext, ".dump");
    StreamResult dump = source.read_stream("databases/" + kDash);
    ASSERT_EQ(dump.status, BH_END_OF_STREAM) << dump.error;
    EXPECT_TRUE(dump.data.starts_with("PGDMP"));

    Instance missing(postgres_plugin(), options({{"databases", Argv{"nope"}}}));
    missing.list_streams(status);
    EXPECT_EQ(status, BH_FATAL);
    EXPECT_EQ(missing.last_error(), "database 'nope' (option 'databases') does not exist at " + at(*server_));
}

TEST_F(ClusterSet, GlobalsAlone) {
    // globals = true without databases: the globals and the one database of option 'database'.
    Instance source(postgres_plugin(), options({{"globals", true}, {"database", kDash}}));
    bh_status status = BH_FATAL;
    EXPECT_EQ(names(source.list_streams(status)), (Argv{"globals", "databases/" + kDash}));
    ASSERT_EQ(status, BH_OK) << source.last_error();
}

TEST_F(ClusterSet, GlobalsOfASuperuserHoldRolePasswords) {
    Instance source(postgres_plugin(), options({{"globals", true}, {"database", "postgres"}}));
    bh_status status = BH_FATAL;
    source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    StreamResult globals = source.read_stream("globals");
    ASSERT_EQ(globals.status, BH_END_OF_STREAM) << globals.error;
    EXPECT_THAT(globals.data, HasSubstr("CREATE ROLE alice;"));
    EXPECT_THAT(globals.data, HasSubstr("PASSWORD 'SCRAM-SHA-256$"));
    EXPECT_THAT(globals.data, HasSubstr("GRANT staff TO alice"));
    for (const harness::LogLine& line : source.host().log()) EXPECT_NE(line.level, BH_LOG_WARN) << line.message;
}

TEST_F(ClusterSet, GlobalsOfANonSuperuserLeaveOutPasswordsWithAWarning) {
    Instance source(
        postgres_plugin(),
        options({{"globals", true}, {"databases", Argv{kCafe}}, {"user", "backup"}, {"password", "backup-pw"}}));
    bh_status status = BH_FATAL;
    source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    StreamResult globals = source.read_stream("globals");
    ASSERT_EQ(globals.status, BH_END_OF_STREAM) << globals.error;
    EXPECT_THAT(globals.data, HasSubstr("CREATE ROLE alice;"));
    EXPECT_THAT(globals.data, Not(HasSubstr("PASSWORD")));
    std::vector<std::string> warnings;
    for (const harness::LogLine& line : source.host().log())
        if (line.level == BH_LOG_WARN) warnings.push_back(line.message);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_THAT(warnings[0], HasSubstr("user 'backup' cannot read role passwords"));
    EXPECT_THAT(warnings[0], HasSubstr("role passwords are not in the backup"));
    // Its databases dump as well (through staff's grants).
    StreamResult cafe = source.read_stream("databases/" + kCafe);
    ASSERT_EQ(cafe.status, BH_END_OF_STREAM) << cafe.error;
    EXPECT_THAT(cafe.data, HasSubstr("CREATE DATABASE"));
}

TEST_F(ClusterSet, EachDatabaseStreamRunsThePreflightNamingItsDatabase) {
    Instance source(postgres_plugin(),
                    options({{"databases", Argv{kWeird}}, {"user", "backup"}, {"password", "backup-pw"}}));
    bh_status status = BH_FATAL;
    source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    StreamResult dump = source.read_stream("databases/" + kWeird);
    EXPECT_EQ(dump.status, BH_FATAL);
    EXPECT_THAT(dump.error, HasSubstr("user 'backup' lacks the privileges to dump database '" + kWeird +
                                      "': cannot read 1 relation(s), e.g. app.secret"));
}

struct CheckLine {
    std::string name;
    bool ok = false;
    std::string detail;
};

std::vector<CheckLine> run_check(Instance& source) {
    std::vector<CheckLine> lines;
    bh_check_sink sink{&lines,
                       [](void* ctx, const char* name, int32_t ok, const char* detail, const char*) {
                           static_cast<std::vector<CheckLine>*>(ctx)->push_back({name, ok != 0, detail ? detail : ""});
                       },
                       nullptr};
    source.descriptor().check(source.raw(), &sink);
    return lines;
}

TEST_F(ClusterSet, CheckLogsInToTheMaintenanceDatabaseAndListsTheSet) {
    Instance source(postgres_plugin(), options({{"databases", Argv{"*"}},
                                                {"exclude_databases", Argv{"postgres"}},
                                                {"globals", true},
                                                {"user", "backup"},
                                                {"password", "backup-pw"}}));
    std::vector<CheckLine> lines = run_check(source);
    ASSERT_GE(lines.size(), 4u);
    EXPECT_EQ(lines[0].name, "log in to PostgreSQL at " + at(*server_) + " as user 'backup', database 'postgres'");
    EXPECT_TRUE(lines[0].ok);
    EXPECT_EQ(lines[1].name, "list the databases to back up");
    EXPECT_EQ(lines[1].detail, "3 database(s): '" + kDash + "', '" + kCafe + "', '" + kWeird + "'");
    EXPECT_EQ(lines[2].name, "read role passwords for the globals");
    EXPECT_THAT(lines[2].detail, HasSubstr("user 'backup' cannot read pg_authid"));
    for (const CheckLine& line : lines) EXPECT_TRUE(line.ok) << line.name << ": " << line.detail;
}

TEST_F(ClusterSet, RestoreRefusesAnExistingDatabaseAndTargetDatabase) {
    Instance source(postgres_plugin(), options({{"databases", Argv{kWeird}}}));
    bh_status status = BH_FATAL;
    std::vector<SetStream> streams = source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    StreamResult result = source.restore_stream(streams[0], "SELECT 1;\n");
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_THAT(result.error, HasSubstr("database '" + kWeird + "' exists at " + at(*server_) + "; drop it first"));
    result = source.restore_stream(streams[0], "SELECT 1;\n", {{"target_database", "x"}});
    EXPECT_EQ(result.status, BH_INVALID_CONFIG);
    EXPECT_THAT(result.error, HasSubstr("restore option 'target_database' does not apply to a set"));
}

// A database the failed restore cannot prove it created (the dump's CREATE DATABASE ran inside psql, and another
// client could have made one under that name after the check) is left in place, never dropped.
TEST_F(ClusterSet, AFailedDatabaseRestoreNeverDropsWhatItCannotProveItMade) {
    Instance source(postgres_plugin(), options({{"databases", Argv{"left_behind"}}}));
    server_->query("postgres", "CREATE DATABASE left_behind");
    bh_status status = BH_FATAL;
    std::vector<SetStream> streams = source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    server_->query("postgres", "DROP DATABASE left_behind");
    // What psql is fed creates the database, then fails.
    StreamResult result =
        source.restore_stream(streams[0], "CREATE DATABASE left_behind;\nSELECT no_such_function();\n");
    EXPECT_EQ(result.status, BH_FATAL);
    EXPECT_EQ(server_->query("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'left_behind'"), "1");
    server_->query("postgres", "DROP DATABASE left_behind");
}

std::string roles(const PostgresServer& server) {
    return server.query(
        "postgres",
        "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
        "rolbypassrls, rolconnlimit FROM pg_roles ORDER BY rolname COLLATE \"C\"");
}
std::string memberships(const PostgresServer& server) {
    return server.query("postgres",
                        "SELECT r.rolname, m.rolname, a.admin_option FROM pg_auth_members a "
                        "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member ORDER BY 1, 2");
}
std::string passwords(const PostgresServer& server) {
    return server.query("postgres",
                        "SELECT rolname, rolpassword FROM pg_authid WHERE rolname <> 'backhaul_test' ORDER BY 1");
}
// The ACL as a sorted list: GRANTs replayed by a restore may order it differently.
std::string databases(const PostgresServer& server) {
    return server.query("postgres",
                        "SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, "
                        "ARRAY(SELECT a::text FROM unnest(datacl) a ORDER BY 1), shobj_description(oid, 'pg_database') "
                        "FROM pg_database WHERE datname <> 'postgres' "
                        "AND NOT datistemplate ORDER BY datname COLLATE \"C\"");
}

struct RoundTrip {
    const char* format;
    bool as_backup_role;  // dumped by the non-superuser 'backup': globals without passwords
};

class ClusterRoundTrip : public ClusterSet, public ::testing::WithParamInterface<RoundTrip> {};

TEST_P(ClusterRoundTrip, EveryStreamRestoresIntoAFreshCluster) {
    const RoundTrip param = GetParam();
    std::string fresh_error;
    std::unique_ptr<PostgresServer> fresh = PostgresServer::start_or_null(&fresh_error);
    ASSERT_TRUE(fresh) << fresh_error;

    // The backup role cannot read app.secret of kWeird: that database is left out of its set.
    OptionList dumped_by = {{"databases", Argv{"*"}}, {"globals", true}, {"format", param.format}};
    if (param.as_backup_role) dumped_by.emplace_back("exclude_databases", Argv{kWeird});
    if (param.as_backup_role) {
        dumped_by.emplace_back("user", "backup");
        dumped_by.emplace_back("password", "backup-pw");
    }
    Instance source(postgres_plugin(), options(dumped_by));
    bh_status status = BH_FATAL;
    std::vector<SetStream> streams = source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    ASSERT_EQ(streams.size(), param.as_backup_role ? 4u : 5u);
    std::vector<std::string> dumps;
    for (const SetStream& stream : streams) {
        StreamResult dump = source.read_stream(stream.name);
        ASSERT_EQ(dump.status, BH_END_OF_STREAM) << stream.name << ": " << dump.error;
        dumps.push_back(dump.data);
    }

    // The restoring instance: the fresh cluster's bootstrap superuser (which the globals' CREATE ROLE meets again).
    // It keeps its own password: the globals' password for it is left out, so the databases can log in after them.
    const OptionList restoring = {{"databases", Argv{"*"}}, {"globals", true}, {"format", param.format}};
    Instance target(postgres_plugin(), connection(*fresh, restoring));
    ASSERT_EQ(target.create_status(), BH_OK) << target.last_error();
    StreamResult restored = target.restore_stream(streams[0], dumps[0]);
    ASSERT_EQ(restored.status, BH_OK) << restored.error;
    if (!param.as_backup_role) {
        bool warned = false;
        for (const harness::LogLine& line : target.host().log())
            warned =
                warned || (line.level == BH_LOG_WARN && line.message.find("kept its password") != std::string::npos);
        EXPECT_TRUE(warned) << "no warning that the restoring role kept its password";
    }
    for (size_t i = 1; i < streams.size(); ++i) {
        restored = target.restore_stream(streams[i], dumps[i], {}, 1000);
        ASSERT_EQ(restored.status, BH_OK) << streams[i].name << ": " << restored.error;
    }

    EXPECT_EQ(roles(*fresh), roles(*server_));
    EXPECT_EQ(memberships(*fresh), memberships(*server_));
    if (param.as_backup_role) {
        EXPECT_EQ(fresh->query("postgres",
                               "SELECT count(*) FROM pg_authid WHERE rolname IN ('alice', 'backup') "
                               "AND rolpassword IS NULL"),
                  "2");
    } else {
        EXPECT_EQ(passwords(*fresh), passwords(*server_));
        EXPECT_EQ(databases(*fresh), databases(*server_));
    }
    for (const std::string& db : {kWeird, kCafe, kDash, std::string("postgres")}) {
        if (param.as_backup_role && db == kWeird) continue;
        EXPECT_EQ(fresh->comparable_dump(db), server_->comparable_dump(db)) << db;
    }
    EXPECT_EQ(fresh->query("postgres", "SELECT note FROM public.kept_in_postgres"), "in the maintenance database");
}

// pg_dumpall's rule: the `postgres` stream is dumped without CREATE DATABASE and restores into the existing database
// only while that one is empty; otherwise the restore is refused and nothing is changed.
TEST_F(ClusterSet, ThePostgresStreamRestoresOnlyIntoAnEmptyPostgresDatabase) {
    Instance source(postgres_plugin(), options({{"databases", Argv{"postgres"}}}));
    bh_status status = BH_FATAL;
    std::vector<SetStream> streams = source.list_streams(status);
    ASSERT_EQ(status, BH_OK) << source.last_error();
    ASSERT_EQ(streams.size(), 1u);
    EXPECT_EQ(streams[0].variables.at("creates_database"), "false");
    StreamResult dump = source.read_stream(streams[0].name);
    ASSERT_EQ(dump.status, BH_END_OF_STREAM) << dump.error;
    EXPECT_THAT(dump.data, Not(HasSubstr("CREATE DATABASE")));
    // The source's own postgres holds kept_in_postgres: not empty, refused.
    StreamResult refused = source.restore_stream(streams[0], dump.data);
    EXPECT_EQ(refused.status, BH_FATAL);
    EXPECT_THAT(refused.error, HasSubstr("is not empty"));
    EXPECT_EQ(server_->query("postgres", "SELECT count(*) FROM public.kept_in_postgres"), "1");
}

INSTANTIATE_TEST_SUITE_P(Formats, ClusterRoundTrip,
                         ::testing::Values(RoundTrip{"plain", false}, RoundTrip{"custom", false},
                                           RoundTrip{"plain", true}),
                         [](const ::testing::TestParamInfo<RoundTrip>& info) {
                             return std::string(info.param.format) + (info.param.as_backup_role ? "_as_backup" : "");
                         });

}  // namespace
}  // namespace backhaul
