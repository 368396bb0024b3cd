// pg_dump's argv and the extra_args allowlist, without a server.
#include "dump_arguments.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <backhaul/sdk.hpp>

#include "connection_settings.hpp"

namespace backhaul {
namespace {

using Args = std::vector<std::string>;

std::string refusal(const Args& extra_args) {
    try {
        check_extra_args(extra_args);
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::invalid_config);
        return e.what();
    }
    return "";
}

TEST(DumpArguments, PlainDefaults) {
    DumpSelection selection;
    EXPECT_EQ(pg_dump_arguments(selection), (Args{"--format=plain", "--no-password"}));
}

TEST(DumpArguments, EveryOptionInOrder) {
    DumpSelection selection;
    selection.custom_format = true;
    selection.schemas = {"sales", "hr"};
    selection.exclude_schemas = {"tmp*"};
    selection.tables = {"sales.orders"};
    selection.exclude_tables = {"sales.log"};
    selection.no_owner = true;
    selection.no_privileges = true;
    selection.lock_wait_timeout_ms = 5000;
    selection.extra_args = {"--encoding", "UTF8", "-v"};
    EXPECT_EQ(pg_dump_arguments(selection),
              (Args{"--format=custom", "--schema=sales", "--schema=hr", "--exclude-schema=tmp*", "--table=sales.orders",
                    "--exclude-table=sales.log", "--no-owner", "--no-privileges", "--lock-wait-timeout=5000",
                    "--encoding", "UTF8", "-v", "--no-password"}));
}

TEST(DumpArguments, AllowedExtraArgsPass) {
    EXPECT_EQ(refusal({"--data-only", "-v", "--encoding=LATIN1", "-E", "UTF8", "-Z5", "--exclude-table-data", "audit.*",
                       "--if-exists", "--clean", "--rows-per-insert=100", "--inserts"}),
              "");
    // A value is taken as is, even when it looks like a flag (pg_dump's getopt does the same).
    EXPECT_EQ(refusal({"--exclude-table-data", "-f"}), "");
}

TEST(DumpArguments, OutputElsewhereIsRefused) {
    EXPECT_EQ(refusal({"-f", "/tmp/x.sql"}),
              "extra_args: '-f' is not allowed: pg_dump must write to standard output, which Backhaul streams");
    EXPECT_EQ(refusal({"--file=/tmp/x.sql"}),
              "extra_args: '--file=/tmp/x.sql' is not allowed: pg_dump must write to standard output, which Backhaul "
              "streams");
    EXPECT_EQ(refusal({"-F", "d"}),
              "extra_args: '-F' is not allowed: use option 'format' (plain or custom; the directory and tar formats "
              "cannot stream)");
    EXPECT_EQ(refusal({"-Fd"}),
              "extra_args: '-Fd' is not allowed: use option 'format' (plain or custom; the directory and tar formats "
              "cannot stream)");
    EXPECT_EQ(refusal({"-j", "4"}),
              "extra_args: '-j' is not allowed: parallel dumps need the directory format, which cannot stream");
    EXPECT_EQ(refusal({"--jobs=4"}),
              "extra_args: '--jobs=4' is not allowed: parallel dumps need the directory format, which cannot stream");
}

TEST(DumpArguments, OptionsTheirOwnWayAreRefusedWithTheOption) {
    EXPECT_EQ(refusal({"--host=db"}), "extra_args: '--host=db' is not allowed: use option 'host'");
    EXPECT_EQ(refusal({"-W"}), "extra_args: '-W' is not allowed: the password comes from option 'password'");
    EXPECT_EQ(refusal({"-n", "x"}), "extra_args: '-n' is not allowed: use option 'schemas'");
    EXPECT_EQ(refusal({"--lock-wait-timeout=5s"}),
              "extra_args: '--lock-wait-timeout=5s' is not allowed: use option 'lock_wait_timeout'");
    EXPECT_EQ(refusal({"--version"}),
              "extra_args: '--version' is not allowed: it prints the version instead of a dump");
}

TEST(DumpArguments, UnknownBundledAndPositionalAreRefused) {
    EXPECT_EQ(refusal({"--output-everything"}),
              "extra_args: '--output-everything' is not an allowed pg_dump flag (allowed flags keep the dump on "
              "standard output; see the source-postgres README)");
    // Bundled short flags could hide a refused flag behind an allowed one.
    EXPECT_EQ(refusal({"-af"}),
              "extra_args: '-af' is not an allowed pg_dump flag (allowed flags keep the dump on standard output; see "
              "the source-postgres README)");
    EXPECT_EQ(refusal({"--data-only=yes"}),
              "extra_args: '--data-only=yes' is not an allowed pg_dump flag (allowed flags keep the dump on standard "
              "output; see the source-postgres README)");
    EXPECT_EQ(refusal({"otherdb"}), "extra_args: 'otherdb' is not a flag (the database comes from option 'database')");
    EXPECT_EQ(refusal({"--encoding"}), "extra_args: '--encoding' needs a value");
}

using Env = std::vector<std::pair<std::string, std::string>>;

TEST(ConnectionSettings, ChildEnvironmentCarriesEveryConfiguredSetting) {
    ConnectionSettings settings;
    settings.host = "db.example";
    settings.port = 15432;
    settings.user = "o'brien";
    settings.password = "hunter2-secret";
    settings.sslmode = "verify-full";
    settings.sslrootcert = "/etc/ssl/ca dir\\ca.pem";
    settings.connect_timeout = std::chrono::milliseconds(2500);
    // Values as they are: an environment variable needs no quoting, and PGDATABASE is never parsed as a conninfo.
    EXPECT_EQ(settings.child_environment("shop db"), (Env{{"PGHOST", "db.example"},
                                                          {"PGPORT", "15432"},
                                                          {"PGUSER", "o'brien"},
                                                          {"PGDATABASE", "shop db"},
                                                          {"PGPASSWORD", "hunter2-secret"},
                                                          {"PGSSLMODE", "verify-full"},
                                                          {"PGSSLROOTCERT", "/etc/ssl/ca dir\\ca.pem"},
                                                          {"PGCONNECT_TIMEOUT", "3"},
                                                          {"PGAPPNAME", "backhaul"}}));
    EXPECT_EQ(settings.configured_endpoint(), "db.example:15432");
    EXPECT_EQ(settings.redact("x hunter2-secret y hunter2-secret"), "x <redacted> y <redacted>");
}

std::optional<std::string> value_in(const Env& env, const std::string& name) {
    EXPECT_LE(std::count_if(env.begin(), env.end(), [&](const auto& v) { return v.first == name; }), 1) << name;
    for (const auto& [set_name, value] : env)
        if (set_name == name) return value;
    return std::nullopt;
}

TEST(ConnectionSettings, ChildEnvironmentCarriesLibpqVariablesAndOursReplaceTheirs) {
    ::setenv("PGSSLCERT", "/etc/backup/client.crt", 1);
    ::setenv("PGPASSWORD", "from-the-environment", 1);
    ::setenv("PGAPPNAME", "someone-else", 1);
    ::setenv("PGHOST", "elsewhere.example", 1);
    ::setenv("PGUSER", "someone", 1);
    ::setenv("PGDATABASE", "otherdb", 1);
    ::setenv("PGPORT", "6543", 1);
    ::setenv("PGSSLMODE", "require", 1);
    ::setenv("PGP_PASSPHRASE", "not-for-libpq", 1);  // starts with PG, but no libpq variable
    ConnectionSettings settings;
    settings.database = "d";
    Env env = settings.child_environment("d");
    EXPECT_EQ(value_in(env, "PGSSLCERT"), "/etc/backup/client.crt");
    // Without a password, host or user option libpq's own variables are what the preflight used too.
    EXPECT_EQ(value_in(env, "PGPASSWORD"), "from-the-environment");
    EXPECT_EQ(value_in(env, "PGHOST"), "elsewhere.example");
    EXPECT_EQ(value_in(env, "PGUSER"), "someone");
    EXPECT_EQ(value_in(env, "PGDATABASE"), "d");
    EXPECT_EQ(value_in(env, "PGPORT"), "6543");  // no port option: not a fixed 5432
    EXPECT_EQ(value_in(env, "PGSSLMODE"), "require");
    EXPECT_EQ(value_in(env, "PGAPPNAME"), "backhaul");
    EXPECT_EQ(value_in(env, "PGP_PASSPHRASE"), std::nullopt);
    settings.database.reset();
    EXPECT_EQ(value_in(settings.child_environment(), "PGDATABASE"), "otherdb");
    EXPECT_EQ(settings.default_database(), "otherdb");

    settings.password = "hunter2-secret";
    settings.host = "db.example";
    settings.user = "backup";
    env = settings.child_environment("d");
    EXPECT_EQ(value_in(env, "PGPASSWORD"), "hunter2-secret");
    EXPECT_EQ(value_in(env, "PGHOST"), "db.example");
    EXPECT_EQ(value_in(env, "PGUSER"), "backup");
    for (const char* name : {"PGSSLCERT", "PGPASSWORD", "PGAPPNAME", "PGHOST", "PGUSER", "PGDATABASE", "PGPORT",
                             "PGSSLMODE", "PGP_PASSPHRASE"})
        ::unsetenv(name);
}

TEST(ConnectionSettings, DefaultsAndShortPasswords) {
    ConnectionSettings settings;
    settings.password = "abc";  // too short to redact without mangling ordinary words, as in the core
    // Nothing but what is configured: libpq chooses the rest, for the clients as for the preflight.
    EXPECT_EQ(settings.child_environment(),
              (Env{{"PGPASSWORD", "abc"}, {"PGCONNECT_TIMEOUT", "30"}, {"PGAPPNAME", "backhaul"}}));
    EXPECT_EQ(settings.configured_endpoint(), "libpq's default server");
    settings.user = "u";
    EXPECT_EQ(settings.default_database(), "u");  // libpq's rule: a database named like the user
    EXPECT_EQ(settings.redact("abc"), "abc");
}

TEST(Endpoint, NamesHostAndPortOrTheSocketFile) {
    EXPECT_EQ((Endpoint{"db.example", "5432", "u", "d"}.text()), "db.example:5432");
    EXPECT_EQ((Endpoint{"::1", "6432", "u", "d"}.text()), "[::1]:6432");
    EXPECT_EQ((Endpoint{"/var/run/postgresql", "5432", "u", "d"}.text()), "socket /var/run/postgresql/.s.PGSQL.5432");
    EXPECT_TRUE((Endpoint{"@abstract", "5432", "u", "d"}.is_socket()));
}

}  // namespace
}  // namespace backhaul
