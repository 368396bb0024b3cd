// Options left out fall back to libpq's own conventions, for the preflight and for pg_dump alike: PGHOST, PGPORT,
// PGUSER, PGDATABASE, PGSSLMODE, a service (PGSERVICE, PGSERVICEFILE), the password file (PGPASSFILE); errors name
// the endpoint libpq resolved, and {database} is the database actually dumped. Through the built plugin, against a
// real PostgreSQL; a wrapper around the real pg_dump records what reached its environment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "plugin_harness.hpp"
#include "postgres_fixture.hpp"

namespace backhaul {
namespace {

using harness::Instance;
using harness::OptionList;
using harness::StreamResult;
using ::testing::HasSubstr;
using testing::PostgresServer;
using testing::TempDir;
namespace fs = std::filesystem;

const harness::Plugin& postgres_plugin() {
    static const harness::Plugin plugin("source-postgres");
    return plugin;
}

constexpr const char* kLibpqVariables[] = {"PGHOST",    "PGPORT",    "PGUSER",        "PGDATABASE", "PGPASSWORD",
                                           "PGSSLMODE", "PGSERVICE", "PGSERVICEFILE", "PGPASSFILE"};

class LibpqDefaults : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = PostgresServer::start_or_null(&error_, [](PostgresServer& server) {
            server.query("postgres", "CREATE DATABASE shop");
            server.query("shop", "CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (42);");
        });
    }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        ASSERT_TRUE(server_) << error_;
        for (const char* name : kLibpqVariables) ::unsetenv(name);
        // pg_dump, recording the libpq variables it was started with (not for --version).
        std::string script = "#!/bin/sh\nif [ \"$1\" != --version ]; then {\n";
        for (const char* name : {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE", "PGSERVICE", "PGPASSFILE"})
            script += std::string("echo \"") + name + "=$" + name + "\"\n";
        script += "echo \"PGPASSWORD=${PGPASSWORD:+set}\"\n} > '" + (dir_ / "env.log").string() + "'; fi\nexec '" +
                  (server_->bin_dir() / "pg_dump").string() + "' \"$@\"\n";
        write_file(dir_ / "pg_dump", script);
        ::chmod((dir_ / "pg_dump").c_str(), 0755);
    }
    void TearDown() override {
        for (const char* name : kLibpqVariables) ::unsetenv(name);
    }

    static void write_file(const fs::path& path, const std::string& text) { testing::write_file(path, text); }

    // The full set of connection options less `left_out`, plus the recording pg_dump.
    OptionList options_without(std::initializer_list<std::string> left_out) const {
        OptionList all{{"host", server_->host()},
                       {"port", server_->port()},
                       {"user", server_->user()},
                       {"database", "shop"},
                       {"password", server_->password()},
                       {"connect_timeout", 10000},
                       {"tables", std::vector<std::string>{"public.orders"}},
                       {"pg_dump", (dir_ / "pg_dump").string()}};
        OptionList kept;
        for (auto& option : all)
            if (std::find(left_out.begin(), left_out.end(), option.first) == left_out.end()) kept.push_back(option);
        return kept;
    }
    std::string port() const { return std::to_string(server_->port()); }

    // Dumps with `options`; returns the libpq variables pg_dump saw, and the stage variables in `variables`.
    std::map<std::string, std::string> dump(const OptionList& options, std::map<std::string, std::string>* variables) {
        Instance source(postgres_plugin(), options);
        EXPECT_EQ(source.create_status(), BH_OK) << source.last_error();
        StreamResult result = source.read_source();
        EXPECT_EQ(result.status, BH_END_OF_STREAM) << result.error;
        EXPECT_THAT(result.data, HasSubstr("COPY public.orders"));
        if (variables) *variables = source.host().variables();
        std::map<std::string, std::string> seen;
        std::istringstream in(testing::read_file(dir_ / "env.log"));
        for (std::string line; std::getline(in, line);)
            seen[line.substr(0, line.find('='))] = line.substr(line.find('=') + 1);
        return seen;
    }
    std::string failure(const OptionList& options) {
        Instance source(postgres_plugin(), options);
        StreamResult result = source.read_source();
        EXPECT_EQ(result.status, BH_FATAL);
        return result.error;
    }

    static inline std::unique_ptr<PostgresServer> server_;
    static inline std::string error_;
    TempDir dir_;
};

TEST_F(LibpqDefaults, HostFromPGHOST) {
    ::setenv("PGHOST", "127.0.0.1", 1);
    std::map<std::string, std::string> variables;
    EXPECT_EQ(dump(options_without({"host"}), &variables).at("PGHOST"), "127.0.0.1");
    EXPECT_EQ(variables.at("host"), "127.0.0.1");
}

TEST_F(LibpqDefaults, PortFromPGPORTNotAFixed5432) {
    ::setenv("PGPORT", port().c_str(), 1);
    EXPECT_EQ(dump(options_without({"port"}), nullptr).at("PGPORT"), port());
}

TEST_F(LibpqDefaults, UserFromPGUSER) {
    ::setenv("PGUSER", server_->user().c_str(), 1);
    EXPECT_EQ(dump(options_without({"user"}), nullptr).at("PGUSER"), server_->user());
}

TEST_F(LibpqDefaults, DatabaseFromPGDATABASEIsTheKeysDatabase) {
    ::setenv("PGDATABASE", "shop", 1);
    std::map<std::string, std::string> variables;
    EXPECT_EQ(dump(options_without({"database"}), &variables).at("PGDATABASE"), "shop");
    EXPECT_EQ(variables.at("database"), "shop");
}

TEST_F(LibpqDefaults, DatabaseDefaultsToTheUserName) {
    EXPECT_EQ(failure(options_without({"database"})),
              "database '" + server_->user() + "' does not exist at 127.0.0.1:" + port());
}

TEST_F(LibpqDefaults, SslModeFromPGSSLMODE) {
    ::setenv("PGSSLMODE", "disable", 1);
    EXPECT_EQ(dump(options_without({}), nullptr).at("PGSSLMODE"), "disable");
    // The test server has no TLS: libpq's own refusal shows the variable took effect.
    ::setenv("PGSSLMODE", "require", 1);
    EXPECT_EQ(failure(options_without({})),
              "cannot connect to PostgreSQL at 127.0.0.1:" + port() + " as user '" + server_->user() +
                  "' to database 'shop': server does not support SSL, but SSL was required");
}

TEST_F(LibpqDefaults, EverythingFromAServiceFile) {
    write_file(dir_ / "services",
               "[shop_service]\nhost=127.0.0.1\nport=" + port() + "\nuser=" + server_->user() + "\ndbname=shop\n");
    ::setenv("PGSERVICEFILE", (dir_ / "services").c_str(), 1);
    ::setenv("PGSERVICE", "shop_service", 1);
    std::map<std::string, std::string> variables;
    std::map<std::string, std::string> seen = dump(options_without({"host", "port", "user", "database"}), &variables);
    // pg_dump gets the service's settings as variables, not the service (which would beat configured options).
    EXPECT_EQ(seen.at("PGHOST"), "127.0.0.1");
    EXPECT_EQ(seen.at("PGPORT"), port());
    EXPECT_EQ(seen.at("PGUSER"), server_->user());
    EXPECT_EQ(seen.at("PGDATABASE"), "shop");
    EXPECT_EQ(seen.at("PGSERVICE"), "");
    EXPECT_EQ(variables.at("database"), "shop");
}

TEST_F(LibpqDefaults, AnUndefinedServiceIsLibpqsOwnError) {
    write_file(dir_ / "services", "[other]\nport=1\n");
    ::setenv("PGSERVICEFILE", (dir_ / "services").c_str(), 1);
    ::setenv("PGSERVICE", "nope", 1);
    EXPECT_THAT(failure(options_without({})), HasSubstr("definition of service \"nope\" not found"));
}

TEST_F(LibpqDefaults, PasswordFromThePasswordFile) {
    std::string escaped;  // .pgpass escapes ':' and '\' with a backslash
    for (char c : server_->password()) escaped += (c == ':' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    write_file(dir_ / "pgpass", "127.0.0.1:" + port() + ":shop:" + server_->user() + ":" + escaped + "\n");
    ::chmod((dir_ / "pgpass").c_str(), 0600);
    ::setenv("PGPASSFILE", (dir_ / "pgpass").c_str(), 1);
    std::map<std::string, std::string> seen = dump(options_without({"password"}), nullptr);
    EXPECT_EQ(seen.at("PGPASSFILE"), (dir_ / "pgpass").string());
    EXPECT_EQ(seen.at("PGPASSWORD"), "");  // pg_dump read the file itself
}

TEST_F(LibpqDefaults, ErrorsNameTheEndpointLibpqUsed) {
    // Not "local socket": the host came from PGHOST, the port from PGPORT.
    const std::string unused = std::to_string(PostgresServer::free_port());
    ::setenv("PGHOST", "127.0.0.1", 1);
    ::setenv("PGPORT", unused.c_str(), 1);
    EXPECT_EQ(failure(options_without({"host", "port"})), "cannot connect to PostgreSQL at 127.0.0.1:" + unused +
                                                              " as user '" + server_->user() +
                                                              "' to database 'shop': connection refused");
    ::unsetenv("PGHOST");
    ::setenv("PGPORT", port().c_str(), 1);
    // The default host is the local socket (none in the default directory here): libpq's directory is named.
    EXPECT_THAT(failure(options_without({"host", "port"})),
                ::testing::MatchesRegex("cannot connect to PostgreSQL at socket /[^ ]+/\\.s\\.PGSQL\\." + port() +
                                        " as user '" + server_->user() + "' to database 'shop': .*"));
}

}  // namespace
}  // namespace backhaul
