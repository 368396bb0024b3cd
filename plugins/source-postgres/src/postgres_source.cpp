// source-postgres: streams pg_dump's output into the pipeline after a libpq preflight that turns the usual failures
// (unreachable server, wrong password, unknown database, missing privileges, pg_dump older than the server) into one
// clear line; restores with psql or pg_restore.
#include <backhaul/sdk.hpp>
#include <chrono>
#include <memory>

#include "client_tools.hpp"
#include "connection_settings.hpp"
#include "database_restore.hpp"
#include "dump_arguments.hpp"
#include "pg_connection.hpp"
#include "process/child_process.hpp"

namespace backhaul {
namespace {

const char* const kSslModes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full", nullptr};
const char* const kFormats[] = {"plain", "custom", nullptr};

const bh_option_spec kOptions[] = {
    {"host", BH_OPT_STRING, 0, nullptr, nullptr, "Server host name or address; default: the local socket."},
    {"port", BH_OPT_INT, 0, "5432", nullptr, "Server port."},
    {"user", BH_OPT_STRING, 0, nullptr, nullptr, "Role to connect as; default: the operating system user."},
    {"database", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "Database to back up (and restore into)."},
    {"password", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "Password, normally ${secret:...} or ${env:...}; given to pg_dump/psql/pg_restore only as PGPASSWORD."},
    {"sslmode", BH_OPT_ENUM, 0, nullptr, kSslModes, "libpq sslmode for the preflight and every client program."},
    {"sslrootcert", BH_OPT_STRING, 0, nullptr, nullptr, "CA certificate file for sslmode verify-ca/verify-full."},
    {"format", BH_OPT_ENUM, 0, "\"plain\"", kFormats,
     "pg_dump format: plain (SQL, {ext} .sql) or custom (pg_restore archive, {ext} .dump)."},
    {"schemas", BH_OPT_LIST, BH_OPT_ARGV, "[]", nullptr, "Dump only these schemas (pg_dump --schema patterns)."},
    {"exclude_schemas", BH_OPT_LIST, BH_OPT_ARGV, "[]", nullptr, "Leave out these schemas (pg_dump --exclude-schema)."},
    {"tables", BH_OPT_LIST, BH_OPT_ARGV, "[]", nullptr, "Dump only these tables (pg_dump --table patterns)."},
    {"exclude_tables", BH_OPT_LIST, BH_OPT_ARGV, "[]", nullptr, "Leave out these tables (pg_dump --exclude-table)."},
    {"no_owner", BH_OPT_BOOL, 0, "false", nullptr, "Do not dump or restore object ownership (--no-owner)."},
    {"no_privileges", BH_OPT_BOOL, 0, "false", nullptr, "Do not dump or restore GRANTs (--no-privileges)."},
    {"extra_args", BH_OPT_LIST, BH_OPT_ARGV, "[]", nullptr,
     "More pg_dump flags, from an allowlist of those that keep the dump on standard output."},
    {"pg_dump", BH_OPT_STRING, BH_OPT_ARGV, nullptr, nullptr,
     "pg_dump to run; default: the newest /usr/lib/postgresql/*/bin/pg_dump, else PATH. psql and pg_restore are "
     "taken from its directory."},
    {"connect_timeout", BH_OPT_DURATION, 0, nullptr, nullptr,
     "How long to wait for the server to answer a connection; 30s when unset."},
    {"lock_wait_timeout", BH_OPT_DURATION, BH_OPT_ARGV, nullptr, nullptr,
     "Fail instead of waiting longer than this for a table lock (pg_dump --lock-wait-timeout)."},
};

const bh_option_spec kRestoreOptions[] = {
    {"target_database", BH_OPT_STRING, 0, nullptr, nullptr, "Database to restore into; default: option 'database'."},
    {"create", BH_OPT_BOOL, 0, "false", nullptr, "Create the target database first (it must not exist)."},
    {"clean", BH_OPT_BOOL, 0, "false", nullptr,
     "Drop everything in a non-empty target database first, instead of refusing to restore into it."},
};

const char* const kVariables[] = {"database", "host", "server_version", "ext", nullptr};

constexpr auto kProgressInterval = std::chrono::seconds(30);

std::string human_bytes(int64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text;
}

// pg_dump's stdout, complete only once pg_dump exited 0.
class DumpStream final : public SourceStream {
  public:
    DumpStream(ChildSpec spec, Host host, ConnectionSettings settings, int64_t database_size)
        : host_(host),
          settings_(std::move(settings)),
          database_size_(database_size),
          child_(std::move(spec)),
          next_progress_(std::chrono::steady_clock::now() + kProgressInterval) {}

    size_t read(std::span<uint8_t> buffer) override {
        auto cancelled = [this] { return host_.cancelled(); };
        size_t n = child_.read_stdout(buffer, cancelled);
        streamed_ += static_cast<int64_t>(n);
        if (std::chrono::steady_clock::now() >= next_progress_) {
            next_progress_ += kProgressInterval;
            host_.info("pg_dump: " + human_bytes(streamed_) +
                       " streamed (database size on disk: " + human_bytes(database_size_) + ")");
        }
        if (n == 0) {
            // End of output is not success yet: a pg_dump that died mid-way also closes its stdout.
            ExitStatus status = child_.wait(cancelled);
            if (!status.success())
                throw Error(Status::fatal,
                            describe_client_exit("pg_dump", status, settings_.redact(child_.stderr_tail())));
            host_.info("pg_dump finished: " + human_bytes(streamed_));
        }
        return n;
    }

  private:
    Host host_;
    ConnectionSettings settings_;
    int64_t database_size_;
    int64_t streamed_ = 0;
    ChildProcess child_;  // destroyed before end of stream = terminated and reaped
    std::chrono::steady_clock::time_point next_progress_;
};

// Relations pg_dump will lock and read that the user may not: pg_dump would fail on them only after it started.
const char* const kUnreadableRelations = R"SQL(
SELECT count(*) OVER (), quote_ident(n.nspname) || '.' || quote_ident(c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'S', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
   AND (NOT has_schema_privilege(n.oid, 'USAGE') OR NOT has_table_privilege(c.oid, 'SELECT'))
 ORDER BY 2 LIMIT 3
)SQL";

class PostgresSource final : public Source {
  public:
    PostgresSource(Host host, const Options& options) : host_(host) {
        settings_.host = options.optional_string("host");
        int64_t port = options.integer("port");
        if (port < 1 || port > 65535) throw invalid_config("option 'port' must be between 1 and 65535");
        settings_.port = static_cast<int>(port);
        settings_.user = options.optional_string("user");
        settings_.database = options.string("database");
        if (settings_.database.empty()) throw invalid_config("option 'database' must not be empty");
        settings_.password = options.optional_string("password");
        settings_.sslmode = options.optional_string("sslmode");
        settings_.sslrootcert = options.optional_string("sslrootcert");
        if (options.has("connect_timeout")) settings_.connect_timeout = options.duration("connect_timeout");
        if (settings_.connect_timeout.count() <= 0) throw invalid_config("option 'connect_timeout' must be positive");

        selection_.custom_format = options.string("format") == "custom";
        selection_.schemas = options.list("schemas");
        selection_.exclude_schemas = options.list("exclude_schemas");
        selection_.tables = options.list("tables");
        selection_.exclude_tables = options.list("exclude_tables");
        selection_.no_owner = options.boolean("no_owner");
        selection_.no_privileges = options.boolean("no_privileges");
        selection_.extra_args = options.list("extra_args");
        check_extra_args(selection_.extra_args);
        if (options.has("lock_wait_timeout"))
            selection_.lock_wait_timeout_ms = options.duration("lock_wait_timeout").count();
        pg_dump_ = options.optional_string("pg_dump");
        if (pg_dump_ && pg_dump_->empty()) throw invalid_config("option 'pg_dump' must not be empty");

        host_.set_variable("ext", selection_.custom_format ? ".dump" : ".sql");
    }

    std::unique_ptr<SourceStream> open() override {
        auto cancelled = [host = host_] { return host.cancelled(); };
        PgVersion server;
        std::string server_version;
        int64_t database_size = 0;
        {
            PgConnection conn(settings_, settings_.database, cancelled);
            server.number = conn.server_version_num();
            server_version = conn.server_version();
            std::vector<Row> facts =
                conn.query("SELECT current_user, pg_database_size(current_database())", {}, "preflight query failed");
            const std::string& user = facts.at(0).at(0);
            database_size = std::stoll(facts.at(0).at(1));
            // With a selection, which relations pg_dump reads is pg_dump's pattern matching: let it report.
            if (selection_.schemas.empty() && selection_.tables.empty() && selection_.exclude_schemas.empty() &&
                selection_.exclude_tables.empty())
                check_readable(conn, user);
            warn_about_large_objects(conn);
        }
        ClientTool pg_dump = select_pg_dump(server, pg_dump_);

        host_.set_variable("database", settings_.database);
        host_.set_variable("host", settings_.host.value_or("localhost"));
        host_.set_variable("server_version", server_version);
        host_.info("dumping database '" + settings_.database + "' (" + human_bytes(database_size) +
                   " on disk) from PostgreSQL " + server_version + " at " + settings_.endpoint() + " with pg_dump " +
                   pg_dump.version.text() + " (" + pg_dump.path + ")");

        ChildSpec spec;
        spec.argv.push_back(pg_dump.path);
        for (std::string& arg : pg_dump_arguments(selection_)) spec.argv.push_back(std::move(arg));
        spec.env = settings_.child_environment(settings_.database);
        spec.on_stderr_line = [host = host_, settings = settings_](std::string_view line) {
            host.info(settings.redact(std::string(line)));
        };
        return std::make_unique<DumpStream>(std::move(spec), host_, settings_, database_size);
    }

    std::unique_ptr<RestoreTarget> restore(const Options& restore_options) override {
        RestoreRequest request;
        request.target_database = restore_options.optional_string("target_database").value_or(settings_.database);
        if (request.target_database.empty()) throw invalid_config("--target-database must not be empty");
        request.create = restore_options.boolean("create");
        request.clean = restore_options.boolean("clean");
        RestoreClient client{selection_.custom_format, selection_.no_owner, selection_.no_privileges, pg_dump_};
        return start_restore(settings_, client, request, host_);
    }

  private:
    // A plain dump restores large objects in transactions of its own (pg_dump writes BEGIN/COMMIT around them), so a
    // restore that fails after them leaves them and what came before behind, unless it created its database
    // (--create drops it again). pg_dump leaves large objects out when a schema or table selection is given.
    void warn_about_large_objects(PgConnection& conn) {
        if (selection_.custom_format || !selection_.schemas.empty() || !selection_.tables.empty()) return;
        const std::string count =
            conn.query("SELECT count(*) FROM pg_largeobject_metadata", {}, "preflight query failed").at(0).at(0);
        if (count == "0") return;
        host_.warn("database '" + settings_.database + "' has " + count +
                   " large object(s): a restore of this plain-format dump into an existing database is not atomic " +
                   "(the dump commits large objects on its own); use format = \"custom\"");
    }

    void check_readable(PgConnection& conn, const std::string& user) {
        std::vector<Row> unreadable = conn.query(kUnreadableRelations, {}, "preflight query failed");
        if (unreadable.empty()) return;
        std::string names;
        for (const Row& row : unreadable) names += (names.empty() ? "" : ", ") + row[1];
        const std::string& count = unreadable[0][0];
        throw Error(Status::fatal, "user '" + user + "' lacks the privileges to dump database '" + settings_.database +
                                       "': cannot read " + count + " relation(s), e.g. " + names +
                                       " (grant SELECT and schema USAGE, or leave them out with " +
                                       "exclude_tables or exclude_schemas)");
    }

    Host host_;
    ConnectionSettings settings_;
    DumpSelection selection_;
    std::optional<std::string> pg_dump_;
};

const PluginInfo kInfo{
    .name = "source-postgres",
    .version = "0.1.0",
    .description = "Streams pg_dump of one PostgreSQL database; restores with psql or pg_restore.",
    .options = kOptions,
    .restore_options = kRestoreOptions,
    .variables = kVariables,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::PostgresSource, backhaul::kInfo)
