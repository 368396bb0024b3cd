// source-postgres: streams pg_dump's output into the pipeline after a libpq preflight that turns the usual failures
// (unreachable server, wrong password, unknown database, missing privileges, pg_dump older than the server) into one
// clear line; restores with psql or pg_restore. `backhaul check` runs the same findings as separate checks.
#include <algorithm>
#include <backhaul/sdk.hpp>
#include <backhaul/support/process/child_process.hpp>
#include <backhaul/support/text/human_bytes.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "client_tools.hpp"
#include "connection_settings.hpp"
#include "database_restore.hpp"
#include "dump_arguments.hpp"
#include "dump_scope.hpp"
#include "pg_connection.hpp"

namespace backhaul {
namespace {

const char* const kSslModes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full", nullptr};
const char* const kFormats[] = {"plain", "custom", nullptr};

const bh_option_spec kOptions[] = {
    {"host", BH_OPT_STRING, 0, nullptr, nullptr,
     "Server host name, address or socket directory; default: libpq's (PGHOST, PGSERVICE, else the local socket)."},
    {"port", BH_OPT_INT, 0, nullptr, nullptr, "Server port; default: libpq's (PGPORT, PGSERVICE, else 5432)."},
    {"user", BH_OPT_STRING, 0, nullptr, nullptr,
     "Role to connect as; default: libpq's (PGUSER, PGSERVICE, else the operating system user)."},
    {"database", BH_OPT_STRING, 0, nullptr, nullptr,
     "Database to back up (and restore into); default: libpq's (PGDATABASE, PGSERVICE, else the user name)."},
    {"password", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "Password, normally ${secret:...}; given to pg_dump/psql/pg_restore only as PGPASSWORD. Default: libpq's "
     "(PGPASSWORD, PGSERVICE, the password file ~/.pgpass or PGPASSFILE)."},
    {"sslmode", BH_OPT_ENUM, 0, nullptr, kSslModes,
     "libpq sslmode for the preflight and every client program; default: libpq's (PGSSLMODE, else prefer)."},
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
    {"databases", BH_OPT_LIST, 0, nullptr, nullptr,
     "Back up a set (docs/sets.md): these databases (exact names), or [\"*\"] for every database the user may "
     "connect to, templates excluded, listed at each run. Not together with 'database'."},
    {"exclude_databases", BH_OPT_LIST, 0, "[]", nullptr, "Databases (exact names) left out of 'databases'."},
    {"globals", BH_OPT_BOOL, 0, "false", nullptr,
     "Back up a set with a stream 'globals': roles, memberships and tablespaces (pg_dumpall --globals-only)."},
    {"maintenance_database", BH_OPT_STRING, BH_OPT_ARGV, "\"postgres\"", nullptr,
     "The database a set connects to for listing databases, pg_dumpall and the restore's CREATE DATABASE."},
};

const bh_option_spec kRestoreOptions[] = {
    {"target_database", BH_OPT_STRING, 0, nullptr, nullptr, "Database to restore into; default: option 'database'."},
    {"create", BH_OPT_BOOL, 0, "false", nullptr, "Create the target database first (it must not exist)."},
    {"clean", BH_OPT_BOOL, 0, "false", nullptr,
     "Drop everything in a non-empty target database first, instead of refusing to restore into it."},
};

// The ranges the host checks (in `validate` and before create); the rest is PostgresSource::validate.
const bh_option_limits kLimits[] = {
    {"port", BH_LIMIT_MIN | BH_LIMIT_MAX, 1, 65535},
    {"database", BH_LIMIT_MIN, 1, 0},         // libpq would take "" for "not given", silently
    {"pg_dump", BH_LIMIT_MIN, 1, 0},          // the program's path or name
    {"connect_timeout", BH_LIMIT_MIN, 1, 0},  // milliseconds; libpq rounds up to whole seconds, at least 2
    {"maintenance_database", BH_LIMIT_MIN, 1, 0},
};

const bh_option_limits kRestoreLimits[] = {
    {"target_database", BH_LIMIT_MIN, 1, 0},
};

const char* const kVariables[] = {"database", "host", "server_version", "ext", nullptr};

constexpr auto kProgressInterval = std::chrono::seconds(30);

// pg_dump's stdout, complete only once pg_dump exited 0.
class DumpStream final : public SourceStream {
  public:
    DumpStream(ChildSpec spec, Host host, ConnectionSettings settings, int64_t database_size,
               std::string program = "pg_dump")
        : program_(std::move(program)),
          host_(host),
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
            host_.info(program_ + ": " + human_bytes(streamed_) +
                       " streamed (database size on disk: " + human_bytes(database_size_) + ")");
        }
        if (n == 0) {
            // End of output is not success yet: a pg_dump that died mid-way also closes its stdout.
            ExitStatus status = child_.wait(cancelled);
            if (!status.success())
                throw Error(Status::fatal,
                            describe_client_exit(program_, status, settings_.redact(child_.stderr_tail())));
            host_.info(program_ + " finished: " + human_bytes(streamed_));
        }
        return n;
    }

  private:
    std::string program_;
    Host host_;
    ConnectionSettings settings_;
    int64_t database_size_;
    int64_t streamed_ = 0;
    ChildProcess child_;  // destroyed before end of stream = terminated and reaped
    std::chrono::steady_clock::time_point next_progress_;
};

constexpr std::string_view kGlobalsStream = "globals";
constexpr std::string_view kDatabaseStreamPrefix = "databases/";
// A set's stream variable: "false" for a database dumped without its CREATE DATABASE, which the restore puts into the
// existing (empty) database of that name, creating it only if it is missing. pg_dumpall's rule for `postgres`: every
// cluster has it, so a dump that creates it could never restore into a fresh cluster. Its database-level properties
// (comment, grants, settings) are not in the dump, as with pg_dumpall.
constexpr const char* kCreatesDatabaseVariable = "creates_database";
bool dump_creates_database(const std::string& database) { return database != "postgres"; }

// Who may read role passwords (pg_dumpall reads them from pg_authid): superusers and members of pg_read_all_data, not
// the admin roles of managed services. Asked before pg_dumpall runs rather than read from its failure.
const char* const kPasswordsReadable = "SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')";

class PostgresSource final : public Source {
  public:
    static bool produces_set(const Options& options) {
        return options.has("databases") || (options.known("globals") && options.boolean("globals"));
    }

    // Everything the option limits cannot say. No I/O: `backhaul validate` runs it, and create runs it first.
    static void validate(const Options& options, Problems& problems) {
        if (options.known("extra_args")) {
            try {
                check_extra_args(options.list("extra_args"));
            } catch (const Error& e) {
                // check_extra_args names the option itself, for its own callers; the host names it here.
                std::string_view message = e.what();
                if (message.starts_with("extra_args: ")) message.remove_prefix(std::string_view("extra_args: ").size());
                problems.add("extra_args", message);
            }
        }
        if (options.has("databases") && options.has("database"))
            problems.add("databases",
                         "not together with option 'database': a set names its databases in "
                         "'databases' (or leave 'databases' out to back up 'database' alone)");
        if (options.known("databases")) {
            const std::vector<std::string> names = options.list("databases");
            if (names.empty())
                problems.add("databases", "names no database; give names, or [\"*\"] for every database");
            for (const std::string& name : names) {
                if (name.empty()) problems.add("databases", "a database name is empty");
                if (name == "*" && names.size() > 1)
                    problems.add("databases",
                                 "\"*\" (every database) must be the only entry; leave databases out "
                                 "with 'exclude_databases'");
            }
        }
        if (options.known("exclude_databases") && !options.list("exclude_databases").empty() &&
            !options.has("databases"))
            problems.add("exclude_databases", "only applies together with option 'databases'");
    }

    PostgresSource(Host host, const Options& options) : host_(host) {
        settings_.host = options.optional_string("host");
        if (options.has("port")) settings_.port = static_cast<int>(options.integer("port"));
        settings_.user = options.optional_string("user");
        settings_.database = options.optional_string("database");
        settings_.password = options.optional_string("password");
        settings_.sslmode = options.optional_string("sslmode");
        settings_.sslrootcert = options.optional_string("sslrootcert");
        if (options.has("connect_timeout")) settings_.connect_timeout = options.duration("connect_timeout");

        selection_.custom_format = options.string("format") == "custom";
        selection_.schemas = options.list("schemas");
        selection_.exclude_schemas = options.list("exclude_schemas");
        selection_.tables = options.list("tables");
        selection_.exclude_tables = options.list("exclude_tables");
        selection_.no_owner = options.boolean("no_owner");
        selection_.no_privileges = options.boolean("no_privileges");
        selection_.extra_args = options.list("extra_args");
        if (options.has("lock_wait_timeout"))
            selection_.lock_wait_timeout_ms = options.duration("lock_wait_timeout").count();
        pg_dump_ = options.optional_string("pg_dump");
        set_ = produces_set(options);
        if (options.has("databases")) databases_ = options.list("databases");
        exclude_databases_ = options.list("exclude_databases");
        globals_ = options.boolean("globals");
        maintenance_database_ = options.string("maintenance_database");

        host_.set_variable("ext", selection_.custom_format ? ".dump" : ".sql");
    }

    std::unique_ptr<SourceStream> open() override { return open_database(std::nullopt); }

    // The set of this run: "globals" first (restore phase 0), then "databases/<name>" (phase 1), in byte order of the
    // names for ["*"], else as option 'databases' lists them.
    std::vector<StreamInfo> streams() {
        auto cancelled = [host = host_] { return host.cancelled(); };
        std::vector<std::string> names;
        std::string server_version;
        Endpoint endpoint;
        if (databases_) {
            PgConnection conn(settings_, maintenance_database_, cancelled);
            endpoint = conn.endpoint();
            server_version = conn.server_version();
            names = databases_in_set(conn);
        } else {
            // globals = true alone: the globals and the one database the single mode would dump.
            PgConnection conn(settings_, std::nullopt, cancelled);
            endpoint = conn.endpoint();
            server_version = conn.server_version();
            names.push_back(endpoint.database);
        }
        int64_t expected_bytes = 0;
        std::map<std::string, int64_t> database_bytes;
        for (const std::string& name : names) {
            PgConnection conn(settings_, name, cancelled);
            database_bytes[name] = inspect_dump_scope(conn, selection_).data_bytes;
            expected_bytes += database_bytes[name];
        }
        host_.set_variable("host", endpoint.is_socket() ? "localhost" : endpoint.host);
        host_.set_variable("server_version", server_version);
        host_.set_variable("expected_bytes", std::to_string(expected_bytes));

        std::vector<StreamInfo> set;
        if (globals_) set.push_back({std::string(kGlobalsStream), ".sql", {}, 0});
        for (const std::string& name : names)
            set.push_back({std::string(kDatabaseStreamPrefix) + name,
                           selection_.custom_format ? ".dump" : ".sql",
                           // expected_bytes: the host starts the largest databases first (docs/sets.md).
                           {{"database", name},
                            {kCreatesDatabaseVariable, dump_creates_database(name) ? "true" : "false"},
                            {"expected_bytes", std::to_string(database_bytes[name])}},
                           1});
        return set;
    }

    std::unique_ptr<SourceStream> open_stream(const StreamInfo& info) {
        if (info.name == kGlobalsStream) return open_globals();
        return open_database(stream_database(info));
    }

    std::unique_ptr<RestoreTarget> restore_stream(const StreamInfo& info, const Options& restore_options) {
        if (restore_options.has("target_database"))
            throw Error(Status::invalid_config,
                        "restore option 'target_database' does not apply to a set: each database stream restores "
                        "into a new database of its own name (restore a single database without a set instead)");
        if (restore_options.boolean("clean"))
            throw Error(Status::invalid_config,
                        "restore option 'clean' does not apply to a set: its databases are created by the restore");
        RestoreClient client{selection_.custom_format, selection_.no_owner, selection_.no_privileges, pg_dump_};
        SetRestoreRequest request;
        request.maintenance_database = maintenance_database_;
        if (info.name != kGlobalsStream) {
            request.database = stream_database(info);
            for (const auto& [key, value] : info.variables)
                if (key == kCreatesDatabaseVariable) request.into_existing = value == "false";
        }
        return start_set_restore(settings_, client, request, host_);
    }

    // `backhaul check`: the preflight's findings one by one, each with what to do, and nothing refused early.
    void check(Checks& checks) {
        if (set_) return check_set(checks);
        auto cancelled = [host = host_] { return host.cancelled(); };
        std::optional<PgConnection> conn;
        try {
            conn.emplace(settings_, std::nullopt, cancelled);
        } catch (const ConnectError& e) {
            checks.fail("log in to PostgreSQL at " + e.where(), e.what(), login_fix(e));
            return;  // everything else needs the server
        }
        const Endpoint endpoint = conn->endpoint();
        PgVersion server{conn->server_version_num()};
        checks.pass("log in to PostgreSQL at " + endpoint.text() + " as user '" + endpoint.user + "', database '" +
                        endpoint.database + "'",
                    "PostgreSQL " + conn->server_version());

        const std::string install =
            "install postgresql-client-" + server.major_text() + " (or newer; https://www.postgresql.org/download/)";
        check_client(checks, "pg_dump", server,
                     install + " or set option 'pg_dump' to a pg_dump of version " + server.major_text() + " or newer",
                     [&] { return select_pg_dump(server, pg_dump_); });
        const std::string restorer = selection_.custom_format ? "pg_restore" : "psql";
        check_client(checks, restorer, server,
                     install + (pg_dump_ ? " and put " + restorer + " next to option 'pg_dump'" : std::string()),
                     [&] { return probe_client(locate_client(restorer, pg_dump_)); });

        DumpScope scope;
        try {
            scope = inspect_dump_scope(*conn, selection_);
        } catch (const Error& e) {
            checks.fail("read what pg_dump will dump", e.what());
            return;
        }
        const std::string& user = endpoint.user;
        if (scope.schemas_without_usage == 0)
            checks.pass("USAGE on the schemas dumped", std::to_string(scope.schema_count) + " schema(s)");
        else
            checks.fail("USAGE on the schemas dumped",
                        "user '" + user + "' lacks USAGE on " + std::to_string(scope.schemas_without_usage) + " of " +
                            std::to_string(scope.schema_count) + " schema(s), e.g. " + joined(scope.schema_examples),
                        "GRANT USAGE ON SCHEMA " + joined(scope.schema_examples) + " TO " + quoted_identifier(user) +
                            ", or leave them out with exclude_schemas");
        if (scope.unreadable_relations == 0)
            checks.pass("SELECT on the tables and sequences dumped",
                        std::to_string(scope.relation_count) + " relation(s), " + human_bytes(scope.data_bytes) +
                            " of table data");
        else
            checks.fail("SELECT on the tables and sequences dumped",
                        "user '" + user + "' cannot read " + std::to_string(scope.unreadable_relations) + " of " +
                            std::to_string(scope.relation_count) + " relation(s), e.g. " +
                            joined(scope.relation_examples),
                        "GRANT SELECT ON " + joined(scope.relation_examples) + " TO " + quoted_identifier(user) +
                            " (and USAGE on their schemas), or leave them out with exclude_tables");
        if (!scope.large_objects_dumped) return;
        if (scope.unreadable_large_objects == 0)
            checks.pass("SELECT on the large objects dumped", std::to_string(scope.large_objects) + " large object(s)");
        else
            checks.fail("SELECT on the large objects dumped",
                        "user '" + user + "' cannot read " + std::to_string(scope.unreadable_large_objects) + " of " +
                            std::to_string(scope.large_objects) + " large object(s), e.g. " +
                            joined(scope.large_object_examples),
                        "GRANT SELECT ON LARGE OBJECT " + joined(scope.large_object_examples) + " TO " +
                            quoted_identifier(user) +
                            ", or leave large objects out with extra_args = [\"--no-blobs\"]");
    }

    std::unique_ptr<RestoreTarget> restore(const Options& restore_options) override {
        RestoreRequest request;
        // Without --target-database, the database a backup would dump (option 'database', else libpq's default).
        request.target_database =
            restore_options.optional_string("target_database").value_or(settings_.default_database());
        request.create = restore_options.boolean("create");
        request.clean = restore_options.boolean("clean");
        RestoreClient client{selection_.custom_format, selection_.no_owner, selection_.no_privileges, pg_dump_};
        return start_restore(settings_, client, request, host_);
    }

  private:
    // The databases a set backs up, listed at run time, so that a new database is in the next run's set.
    std::vector<std::string> databases_in_set(PgConnection& conn) {
        std::vector<std::string> names;
        if (*databases_ == std::vector<std::string>{"*"}) {
            for (const Row& row : conn.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                                             "AND has_database_privilege(datname, 'CONNECT') ORDER BY datname COLLATE "
                                             "\"C\"",
                                             {}, "cannot list the databases"))
                names.push_back(row.at(0));
        } else {
            for (const std::string& name : *databases_) {
                if (conn.query("SELECT 1 FROM pg_database WHERE datname = $1", {name}, "cannot list the databases")
                        .empty())
                    throw Error(Status::fatal, "database '" + name + "' (option 'databases') does not exist at " +
                                                   conn.endpoint().text());
                names.push_back(name);
            }
        }
        std::erase_if(names, [this](const std::string& name) {
            return std::find(exclude_databases_.begin(), exclude_databases_.end(), name) != exclude_databases_.end();
        });
        if (names.empty())
            throw Error(Status::fatal, "no database to back up at " + conn.endpoint().text() +
                                           " (options 'databases' and 'exclude_databases')");
        return names;
    }

    static std::string stream_database(const StreamInfo& info) {
        for (const auto& [key, value] : info.variables)
            if (key == "database") return value;
        throw Error(Status::fatal, "stream '" + info.name + "' names no database");
    }

    // pg_dumpall --globals-only, without role passwords when this user cannot read them.
    std::unique_ptr<SourceStream> open_globals() {
        auto cancelled = [host = host_] { return host.cancelled(); };
        PgVersion server;
        Endpoint endpoint;
        bool passwords = false;
        {
            PgConnection conn(settings_, maintenance_database_, cancelled);
            endpoint = conn.endpoint();
            server.number = conn.server_version_num();
            passwords = conn.query(kPasswordsReadable, {}, "preflight query failed").at(0).at(0) == "t";
        }
        ClientTool pg_dump = select_pg_dump(server, pg_dump_);
        ChildSpec spec;
        spec.argv.push_back(locate_client("pg_dumpall", pg_dump.path));
        spec.argv.push_back("--globals-only");
        // pg_dumpall ignores PGDATABASE; the name is the operator's own option, and --database=<name> keeps a
        // leading dash from being read as a flag.
        spec.argv.push_back("--database=" + maintenance_database_);
        if (!passwords) {
            spec.argv.push_back("--no-role-passwords");
            host_.warn("user '" + endpoint.user + "' cannot read role passwords (pg_authid) at " + endpoint.text() +
                       ": the globals are dumped without them (--no-role-passwords), so role passwords are not in "
                       "the backup; set them again after a restore");
        }
        if (selection_.no_privileges) spec.argv.push_back("--no-privileges");
        host_.info("dumping the globals (roles, memberships, tablespaces) at " + endpoint.text() + " as user '" +
                   endpoint.user + "' with " + spec.argv.front());
        spec.env = settings_.child_environment(maintenance_database_);
        spec.on_stderr_line = [host = host_, settings = settings_](std::string_view line) {
            host.info(settings.redact(std::string(line)));
        };
        return std::make_unique<DumpStream>(std::move(spec), host_, settings_, 0, "pg_dumpall");
    }

    // One database: option 'database' (else libpq's default) for the single mode, `database` for a set's stream.
    std::unique_ptr<SourceStream> open_database(const std::optional<std::string>& database) {
        auto cancelled = [host = host_] { return host.cancelled(); };
        PgVersion server;
        std::string server_version;
        int64_t database_size = 0;
        Endpoint endpoint;
        DumpScope scope;
        {
            PgConnection conn(settings_, database, cancelled);
            endpoint = conn.endpoint();
            server.number = conn.server_version_num();
            server_version = conn.server_version();
            database_size = std::stoll(
                conn.query("SELECT pg_database_size(current_database())", {}, "preflight query failed").at(0).at(0));
            scope = inspect_dump_scope(conn, selection_);
        }
        refuse_unreadable(scope, endpoint);
        warn_about_large_objects(scope, endpoint);
        ClientTool pg_dump = select_pg_dump(server, pg_dump_);

        if (!set_) {
            // The names libpq resolved (a database from PGDATABASE, a service, or the user name) name the backup.
            host_.set_variable("database", endpoint.database);
            host_.set_variable("host", endpoint.is_socket() ? "localhost" : endpoint.host);
            host_.set_variable("server_version", server_version);
            // The progress line's estimate (the SDK's expected_bytes convention; not in kVariables, since no key
            // should use it). The table data, not pg_database_size: that counts indexes too, which a dump holds only
            // as CREATE INDEX. A custom-format dump is also compressed, so for it this is an upper bound.
            host_.set_variable("expected_bytes", std::to_string(scope.data_bytes));
        }
        host_.info("dumping database '" + endpoint.database + "' (" + human_bytes(database_size) + " on disk, " +
                   human_bytes(scope.data_bytes) + " of table data) from PostgreSQL " + server_version + " at " +
                   endpoint.text() + " as user '" + endpoint.user + "' with pg_dump " + pg_dump.version.text() + " (" +
                   pg_dump.path + ")");

        ChildSpec spec;
        spec.argv.push_back(pg_dump.path);
        for (std::string& arg : pg_dump_arguments(selection_)) spec.argv.push_back(std::move(arg));
        // A set restores into a fresh cluster: the dump recreates its database with its properties, owner and grants
        // (a custom archive always holds them; pg_restore --create uses them).
        if (set_ && !selection_.custom_format && dump_creates_database(endpoint.database))
            spec.argv.push_back("--create");
        // The database the preflight checked, whichever way libpq found it.
        spec.env = settings_.child_environment(endpoint.database);
        spec.on_stderr_line = [host = host_, settings = settings_](std::string_view line) {
            host.info(settings.redact(std::string(line)));
        };
        return std::make_unique<DumpStream>(std::move(spec), host_, settings_, database_size);
    }

    // `backhaul check` of a set: the maintenance database, what the set would back up, and the client programs.
    void check_set(Checks& checks) {
        auto cancelled = [host = host_] { return host.cancelled(); };
        const std::optional<std::string> connect_to =
            databases_ ? std::optional<std::string>(maintenance_database_) : std::nullopt;
        std::optional<PgConnection> conn;
        try {
            conn.emplace(settings_, connect_to, cancelled);
        } catch (const ConnectError& e) {
            checks.fail("log in to PostgreSQL at " + e.where(), e.what(), login_fix(e));
            return;
        }
        const Endpoint endpoint = conn->endpoint();
        PgVersion server{conn->server_version_num()};
        checks.pass("log in to PostgreSQL at " + endpoint.text() + " as user '" + endpoint.user + "', database '" +
                        endpoint.database + "'",
                    "PostgreSQL " + conn->server_version());
        try {
            std::vector<std::string> names = databases_ ? databases_in_set(*conn) : std::vector{endpoint.database};
            std::string listed;
            for (const std::string& name : names) listed += (listed.empty() ? "'" : ", '") + name + "'";
            checks.pass("list the databases to back up", std::to_string(names.size()) + " database(s): " + listed);
        } catch (const Error& e) {
            checks.fail("list the databases to back up", e.what(),
                        "correct options 'databases' and 'exclude_databases', or GRANT CONNECT on the databases");
        }
        if (globals_) {
            // One line either way: a failed query is that line's failure, not also a pass without passwords.
            try {
                if (conn->query(kPasswordsReadable, {}, "cannot ask for pg_authid").at(0).at(0) == "t")
                    checks.pass("read role passwords for the globals", "user '" + endpoint.user + "' reads pg_authid");
                else
                    checks.pass("read role passwords for the globals",
                                "user '" + endpoint.user +
                                    "' cannot read pg_authid: the globals will be dumped without "
                                    "role passwords (--no-role-passwords); back up as a superuser to keep them");
            } catch (const Error& e) {
                checks.fail("read role passwords for the globals", e.what());
            }
        }
        const std::string install =
            "install postgresql-client-" + server.major_text() + " (or newer; https://www.postgresql.org/download/)";
        check_client(checks, "pg_dump", server,
                     install + " or set option 'pg_dump' to a pg_dump of version " + server.major_text() + " or newer",
                     [&] { return select_pg_dump(server, pg_dump_); });
        if (globals_)
            check_client(checks, "pg_dumpall", server, install, [&] {
                return probe_client(locate_client("pg_dumpall", select_pg_dump(server, pg_dump_).path));
            });
    }

    // A plain dump restores large objects in transactions of its own (pg_dump writes BEGIN/COMMIT around them), so a
    // restore that fails after them leaves them and what came before behind, unless it created its database
    // (--create drops it again).
    void warn_about_large_objects(const DumpScope& scope, const Endpoint& endpoint) {
        if (selection_.custom_format || !scope.large_objects_dumped || scope.large_objects == 0) return;
        host_.warn("database '" + endpoint.database + "' has " + std::to_string(scope.large_objects) +
                   " large object(s): a restore of this plain-format dump into an existing database is not atomic " +
                   "(the dump commits large objects on its own); use format = \"custom\"");
    }

    // pg_dump would fail on these only after it started, with a half-written dump.
    void refuse_unreadable(const DumpScope& scope, const Endpoint& endpoint) {
        const std::string lacks =
            "user '" + endpoint.user + "' lacks the privileges to dump database '" + endpoint.database + "': ";
        if (scope.unreadable_relations > 0)
            throw Error(Status::fatal, lacks + "cannot read " + std::to_string(scope.unreadable_relations) +
                                           " relation(s), e.g. " + joined(scope.relation_examples) +
                                           " (grant SELECT and schema USAGE, or leave them out with " +
                                           "exclude_tables or exclude_schemas)");
        if (scope.unreadable_large_objects > 0)
            throw Error(Status::fatal, lacks + "cannot read " + std::to_string(scope.unreadable_large_objects) +
                                           " large object(s), e.g. " + joined(scope.large_object_examples) +
                                           " (grant SELECT on them, or leave large objects out with extra_args = " +
                                           "[\"--no-blobs\"])");
    }

    // Finds and runs `--version` of one client program, which must be at least as new as the server.
    template <class Find>
    static void check_client(Checks& checks, const std::string& name, PgVersion server, const std::string& fix,
                             const Find& find) {
        const std::string what = "find " + name + " " + server.major_text() + " or newer";
        try {
            ClientTool tool = find();
            if (tool.version.major() < server.major())
                checks.fail(what,
                            name + " " + tool.version.text() + " (" + tool.path + ") is older than the server " +
                                "(PostgreSQL " + server.text() + ")",
                            fix);
            else
                checks.pass(what, name + " " + tool.version.text() + " (" + tool.path + ")");
        } catch (const Error& e) {
            checks.fail(what, e.what(), fix);
        }
    }

    std::string login_fix(const ConnectError& error) const {
        const Endpoint& tried = error.tried();
        switch (error.failure()) {
            case ConnectFailure::authentication:
                return settings_.password
                           ? "correct option 'password' (or the secret it comes from)"
                           : "set option 'password' (e.g. from a ${secret:...}) or correct the password in "
                             "PGPASSWORD, the service file or the password file (~/.pgpass, PGPASSFILE)";
            case ConnectFailure::no_password:
                return "set option 'password' (e.g. from a ${secret:...}) or add a line for this server and user to "
                       "the password file (~/.pgpass, PGPASSFILE)";
            case ConnectFailure::unreachable:
                return "check option 'host' and 'port' (or PGHOST, PGPORT, the service), that the server runs and "
                       "that this machine may reach it";
            case ConnectFailure::unknown_database:
                return "correct option 'database' (or PGDATABASE, the service), or create the database";
            case ConnectFailure::unknown_user:
                return "correct option 'user' (or PGUSER, the service), or create the role";
            case ConnectFailure::no_connect_privilege:
                return "GRANT CONNECT ON DATABASE " + quoted_identifier(tried.database) + " TO " +
                       quoted_identifier(tried.user) + " (as the database's owner)";
            case ConnectFailure::rejected:
                return "add a pg_hba.conf entry for this client, user and database";
            case ConnectFailure::other:
                break;
        }
        return "see the detail above; libpq's full message is in the debug log";
    }

    static std::string joined(const std::vector<std::string>& names) {
        std::string text;
        for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
        return text;
    }

    // A name for a GRANT the operator can paste: as is when SQL would not change it, else double-quoted.
    static std::string quoted_identifier(const std::string& name) {
        bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
        for (char c : name) plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
        if (plain) return name;
        std::string text = "\"";
        for (char c : name) text += c == '"' ? std::string("\"\"") : std::string(1, c);
        return text + "\"";
    }

    Host host_;
    ConnectionSettings settings_;
    DumpSelection selection_;
    std::optional<std::string> pg_dump_;
    bool set_ = false;
    std::optional<std::vector<std::string>> databases_;  // option 'databases'; nullopt: globals + one database
    std::vector<std::string> exclude_databases_;
    bool globals_ = false;
    std::string maintenance_database_;
};

const PluginInfo kInfo{
    .name = "source-postgres",
    .version = "0.1.0",
    .description =
        "Streams pg_dump of one PostgreSQL database, or a cluster as a set (databases, globals); restores "
        "with psql or pg_restore.",
    .options = kOptions,
    .restore_options = kRestoreOptions,
    .variables = kVariables,
    .limits = kLimits,
    .restore_limits = kRestoreLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::PostgresSource, backhaul::kInfo)
