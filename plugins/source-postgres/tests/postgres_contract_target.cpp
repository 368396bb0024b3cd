// source-postgres under the source contract (sdk/testkit), against a real PostgreSQL (tests/support/
// postgres_fixture.hpp): each test dumps a database of its own, and the check loads the plain SQL dump with psql into
// a fresh database and compares the rows. The password comes through ${env:…} and only pg_dump may hold it.
#include <gtest/gtest.h>

#include <backhaul/testkit/targets.hpp>
#include <memory>

#include "postgres_fixture.hpp"

namespace {

const char* const kRows = "SELECT count(*), sum(n), string_agg(t, '|' ORDER BY n) FROM items";

class PostgresSourceTarget : public backhaul::testkit::SourceTarget {
  public:
    PostgresSourceTarget() : server_(std::make_unique<backhaul::testing::PostgresServer>()) {}

    std::string plugin() const override { return "source-postgres"; }
    backhaul::testkit::SourceSetup prepare(const std::filesystem::path&) override {
        database_ = "kit_" + std::to_string(++databases_);
        server_->query("postgres", "CREATE DATABASE " + database_);
        server_->query(database_,
                       "CREATE TABLE items (n int PRIMARY KEY, t text);"
                       "INSERT INTO items SELECT g, 'row ' || g || E' with \\'quotes\\', tabs\\t and \\u00fc' "
                       "FROM generate_series(1, 5000) g;");
        return setup_for(database_);
    }
    void check_backup(const std::filesystem::path&, const std::string& backup) override {
        const std::string copy = database_ + "_restored";
        server_->query("postgres", "CREATE DATABASE " + copy);
        backhaul::testkit::CommandOptions options;
        options.env = server_->client_env();
        options.stdin_data = backup;
        backhaul::testkit::CommandResult load = backhaul::testkit::run_command(
            {(server_->bin_dir() / "psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", copy}, options);
        ASSERT_EQ(load.exit_code, 0) << "psql could not load the dump: " << load.err;
        EXPECT_EQ(server_->query(copy, kRows), server_->query(database_, kRows));
    }
    std::optional<backhaul::testkit::SourceSetup> prepare_failing(const std::filesystem::path&) override {
        return setup_for("kit_database_that_does_not_exist");
    }

  private:
    backhaul::testkit::SourceSetup setup_for(const std::string& database) const {
        backhaul::testkit::SourceSetup setup;
        setup.options = "host = \"" + server_->host() + "\"\nport = " + std::to_string(server_->port()) +
                        "\nuser = \"" + server_->user() + "\"\ndatabase = \"" + database +
                        "\"\npassword = \"${env:KIT_PGPASSWORD}\"\n";
        setup.environment = {{"KIT_PGPASSWORD", server_->password()}};
        setup.secret = server_->password();
        setup.programs_given_the_secret = {"pg_dump", "psql", "pg_restore"};
        return setup;
    }

    std::unique_ptr<backhaul::testing::PostgresServer> server_;
    std::string database_;
    int databases_ = 0;
};

}  // namespace

BACKHAUL_TESTKIT_SOURCE(PostgresSourceTarget)
