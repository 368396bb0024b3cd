#include "database_restore.hpp"

#include <backhaul/support/process/child_process.hpp>
#include <span>
#include <string_view>

#include "client_tools.hpp"
#include "create_role_filter.hpp"
#include "pg_connection.hpp"

namespace backhaul {
namespace {

// Everything a restore could collide with. Schemas other than public count as objects themselves; in public, its
// contents do. Objects of extensions count through their extension (plpgsql is in every database).
const char* const kUserObjects = R"SQL(
WITH objects(description) AS (
    SELECT 'schema ' || quote_ident(n.nspname) FROM pg_namespace n
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')
       AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence '
                          WHEN 'f' THEN 'foreign table ' ELSE 'table ' END || 'public.' || quote_ident(c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    UNION ALL
    SELECT 'function public.' || quote_ident(p.proname)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'type public.' || quote_ident(t.typname)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' AND t.typrelid = 0 AND t.typelem = 0
    UNION ALL
    SELECT 'large object ' || l.oid FROM pg_largeobject_metadata l
    UNION ALL
    SELECT 'extension ' || quote_ident(e.extname) FROM pg_extension e WHERE e.extname <> 'plpgsql'
)
SELECT count(*) OVER (), description FROM objects ORDER BY description LIMIT 3
)SQL";

// Opens the target; a missing one gets a hint at --create.
std::unique_ptr<PgConnection> connect_target(const ConnectionSettings& settings, const std::string& target,
                                             const std::function<bool()>& cancelled) {
    try {
        return std::make_unique<PgConnection>(settings, target, cancelled);
    } catch (const ConnectError& e) {
        if (e.failure() != ConnectFailure::unknown_database) throw;
        throw Error(Status::fatal,
                    "target database '" + target + "' does not exist at " + e.where() + "; add --create to create it",
                    e.detail());
    }
}

// Returns the database it connected to for CREATE DATABASE, which DROP DATABASE can use again.
std::string create_database(const ConnectionSettings& settings, const std::string& target,
                            const std::function<bool()>& cancelled) {
    // CREATE DATABASE needs a connection to some other database; managed services often forbid 'postgres'.
    std::vector<std::string> candidates;
    const std::string configured = settings.default_database();
    if (configured != target) candidates.push_back(configured);
    for (const char* name : {"postgres", "template1"})
        if (name != target && name != configured) candidates.emplace_back(name);
    std::unique_ptr<PgConnection> conn;
    std::string connected_to;
    std::string tried;
    for (const std::string& name : candidates) {
        try {
            conn = std::make_unique<PgConnection>(settings, name, cancelled);
            connected_to = name;
            break;
        } catch (const ConnectError& e) {
            if (e.failure() != ConnectFailure::unknown_database && e.failure() != ConnectFailure::no_connect_privilege)
                throw;
            tried += (tried.empty() ? "'" : ", '") + name + "'";
        }
    }
    if (!conn)
        throw Error(Status::fatal, "cannot create database '" + target + "': no database to connect to for CREATE " +
                                       "DATABASE (tried " + tried + ")");
    if (!conn->query("SELECT 1 FROM pg_database WHERE datname = $1", {target}).empty())
        throw Error(Status::fatal, "target database '" + target + "' already exists at " + conn->endpoint().text() +
                                       "; leave out --create to restore into it");
    // template0: objects added to template1 on this server must not collide with the restored ones.
    conn->query("CREATE DATABASE " + conn->quote_identifier(target) + " TEMPLATE template0", {},
                "cannot create database '" + target + "'");
    return connected_to;
}

// The database a restore created with --create, dropped again unless the restore completed: a failed restore (a
// client error, a truncated or corrupt stream, cancellation) leaves no half-restored database, which also makes
// plain dumps whose large objects commit on their own (see kCommit) all or nothing. It exists only once CREATE
// DATABASE succeeded, and that fails for a database that already exists: a database the restore did not create is
// never dropped.
class CreatedDatabase {
  public:
    CreatedDatabase(const ConnectionSettings& settings, std::string name, std::string maintenance_database, Host host)
        : settings_(settings),
          name_(std::move(name)),
          maintenance_database_(std::move(maintenance_database)),
          host_(host) {}
    CreatedDatabase(const CreatedDatabase&) = delete;
    CreatedDatabase& operator=(const CreatedDatabase&) = delete;
    ~CreatedDatabase() {
        if (!kept_) drop();
    }
    void keep() { kept_ = true; }

  private:
    void drop() noexcept try {
        host_.warn("restore failed: dropping database '" + name_ + "', which it created");
        try {
            // Not cancellable: cancellation is often why we are here. connect_timeout bounds the wait.
            PgConnection conn(settings_, maintenance_database_, [] { return false; });
            // FORCE (13+): the killed client's session may not have ended yet.
            std::string force = conn.server_version_num() >= 130000 ? " WITH (FORCE)" : "";
            conn.query("DROP DATABASE " + conn.quote_identifier(name_) + force, {},
                       "cannot drop database '" + name_ + "'");
        } catch (const std::exception& e) {
            host_.warn(std::string(e.what()) + "; the failed restore left database '" + name_ + "' behind: drop it");
        }
    } catch (...) {
        // Out of memory for a log line: nothing more we could do from a destructor.
    }

    ConnectionSettings settings_;
    std::string name_;
    std::string maintenance_database_;
    Host host_;
    bool kept_ = false;
};

void clean_database(PgConnection& conn, const std::string& target) {
    const std::string what = "cannot clean target database '" + target + "'";
    conn.query("BEGIN", {}, what);
    for (const Row& schema :
         conn.query("SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%' ORDER BY 1",
                    {}, what))
        conn.query("DROP SCHEMA " + conn.quote_identifier(schema[0]) + " CASCADE", {}, what);
    for (const Row& extension : conn.query("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'", {}, what))
        conn.query("DROP EXTENSION " + conn.quote_identifier(extension[0]) + " CASCADE", {}, what);
    conn.query("SELECT lo_unlink(oid) FROM pg_largeobject_metadata", {}, what);
    // public as a new database has it (pg_dump does not recreate it): since 15 owned by pg_database_owner, before
    // that open to everyone.
    if (conn.server_version_num() >= 150000) {
        conn.query("CREATE SCHEMA public AUTHORIZATION pg_database_owner", {}, what);
        conn.query("GRANT USAGE ON SCHEMA public TO PUBLIC", {}, what);
    } else {
        conn.query("CREATE SCHEMA public", {}, what);
        conn.query("GRANT ALL ON SCHEMA public TO PUBLIC", {}, what);
    }
    conn.query("COMMENT ON SCHEMA public IS 'standard public schema'", {}, what);
    conn.query("COMMIT", {}, what);
}

// Plain dumps go to psql inside a transaction that only finish() commits: psql runs --command=BEGIN, then reads the
// dump from stdin, and gets COMMIT after the stream's last byte. psql --single-transaction would commit at the end of
// its input, and if backhaul died mid-restore (OOM kill, SIGKILL) the closed pipe would be that end: a partial restore,
// committed. Here psql sees the end inside an open transaction, which the server rolls back when psql disconnects.
constexpr std::string_view kCommit = "\nCOMMIT;\n";

class ClientRestore final : public RestoreTarget {
  public:
    ClientRestore(ChildSpec spec, std::string name, bool explicit_transaction, Host host, ConnectionSettings settings,
                  std::unique_ptr<CreatedDatabase> created)
        : host_(host),
          name_(std::move(name)),
          explicit_transaction_(explicit_transaction),
          settings_(std::move(settings)),
          created_(std::move(created)),
          child_(std::move(spec)) {}

    void write(std::span<const uint8_t> data) override { send(data); }

    void finish() override {
        if (explicit_transaction_) send({reinterpret_cast<const uint8_t*>(kCommit.data()), kCommit.size()});
        child_.close_stdin();
        fail_if_exited_badly();
        if (created_) created_->keep();
    }

  private:
    void send(std::span<const uint8_t> data) {
        try {
            child_.write_stdin(data, [this] { return host_.cancelled(); });
        } catch (const Error& e) {
            if (e.status() == Status::cancelled) throw;
            fail_if_exited_badly();
            throw Error(Status::fatal, name_ + " exited before reading all of its input");
        }
    }
    void fail_if_exited_badly() {
        ExitStatus status = child_.wait([this] { return host_.cancelled(); });
        if (!status.success())
            throw Error(Status::fatal, describe_client_exit(name_, status, settings_.redact(child_.stderr_tail())));
    }

    Host host_;
    std::string name_;
    bool explicit_transaction_;  // plain format: COMMIT after the last byte
    ConnectionSettings settings_;
    std::unique_ptr<CreatedDatabase> created_;  // (may be null) destroyed after child_: the client is gone by then
    ChildProcess child_;  // destroyed without finish() = killed before it sees the end of its input
};

// The globals' psql input through CreateRoleFilter.
class GlobalsRestore final : public RestoreTarget {
  public:
    GlobalsRestore(std::unique_ptr<RestoreTarget> psql, std::string restoring_role, Host host)
        : psql_(std::move(psql)), filter_(restoring_role), restoring_role_(std::move(restoring_role)), host_(host) {}
    void write(std::span<const uint8_t> data) override {
        filtered_.clear();
        filter_.feed({reinterpret_cast<const char*>(data.data()), data.size()}, filtered_);
        forward();
    }
    void finish() override {
        filtered_.clear();
        filter_.finish(filtered_);
        forward();
        psql_->finish();
        if (filter_.kept_restoring_role_password())
            host_.warn("the restoring role '" + restoring_role_ +
                       "' kept its password: the backup's password for it "
                       "was not applied, so that this restore (and its databases) can go on logging in; set it with "
                       "ALTER ROLE if the old one is wanted");
    }

  private:
    void forward() { psql_->write({reinterpret_cast<const uint8_t*>(filtered_.data()), filtered_.size()}); }
    std::unique_ptr<RestoreTarget> psql_;
    CreateRoleFilter filter_;
    std::string restoring_role_;
    Host host_;
    std::string filtered_;
};

// The restore client and its environment, connected to `database`: pg_restore for a custom archive (`custom`), else
// psql reading the script from stdin. `flags` are what the kind of restore adds (a transaction, --create).
// psql: -X no ~/.psqlrc; ON_ERROR_STOP: the first error fails the restore instead of scrolling past; --file=- (stdin,
// as without it) makes psql prefix errors with their line, "psql:<stdin>:42: ERROR: ...".
// The database comes as PGDATABASE (child_environment), like every connection setting: the command line is readable
// by every local user. pg_restore still needs --dbname to restore into a database rather than print a script; libpq
// treats its empty value as not given and falls back to PGDATABASE. psql needs no --dbname at all.
ChildSpec restore_client_spec(const ConnectionSettings& settings, const RestoreClient& client, bool custom,
                              const std::string& database, std::initializer_list<const char*> flags, Host host) {
    ChildSpec spec;
    spec.argv.push_back(locate_client(custom ? "pg_restore" : "psql", client.configured_pg_dump));
    if (custom) {
        spec.argv.push_back("--exit-on-error");
        spec.argv.insert(spec.argv.end(), flags.begin(), flags.end());
        spec.argv.push_back("--no-password");
        if (client.no_owner) spec.argv.push_back("--no-owner");
        if (client.no_privileges) spec.argv.push_back("--no-privileges");
        spec.argv.push_back("--dbname=");
    } else {
        spec.argv.insert(spec.argv.end(), {"-X", "--quiet", "-v", "ON_ERROR_STOP=1", "--no-password"});
        spec.argv.insert(spec.argv.end(), flags.begin(), flags.end());
        spec.argv.push_back("--file=-");
    }
    spec.env = settings.child_environment(database);
    spec.input = ChildSpec::Input::pipe;
    // psql echoes query results (set_config, lo_open, ...) that nobody reads; errors arrive on stderr.
    spec.output = ChildSpec::Output::null;
    spec.on_stderr_line = [host, settings](std::string_view line) { host.info(settings.redact(std::string(line))); };
    return spec;
}

}  // namespace

std::unique_ptr<RestoreTarget> start_set_restore(const ConnectionSettings& settings, const RestoreClient& client,
                                                 const SetRestoreRequest& request, Host host) {
    auto cancelled = [host] { return host.cancelled(); };
    const std::string& maintenance = request.maintenance_database;
    std::string where;
    std::string restoring_role;
    bool exists = false;
    {
        PgConnection conn(settings, maintenance, cancelled);
        where = conn.endpoint().text();
        restoring_role = conn.endpoint().user;
        exists = request.database &&
                 !conn.query("SELECT 1 FROM pg_database WHERE datname = $1", {*request.database}).empty();
    }
    if (request.database && request.into_existing) {
        // What a one-database restore does: into the existing database if it is empty (refused otherwise), else
        // into one created first and dropped again if the restore fails; in one transaction either way.
        RestoreRequest into;
        into.target_database = *request.database;
        into.create = !exists;
        into.for_set = true;
        host.info("restoring database '" + into.target_database + "' at " + where + " into " +
                  (exists ? "the existing database" : "a new database") + " (its dump does not create it)");
        return start_restore(settings, client, into, host);
    }
    if (exists)
        throw Error(Status::fatal, "database '" + *request.database + "' exists at " + where + "; drop it first");
    // Not in one transaction: CREATE DATABASE (the dump's own, or pg_restore --create's) and the globals' CREATE
    // TABLESPACE refuse one. The client connects to the maintenance database; the dump's CREATE DATABASE and \connect
    // (or pg_restore --create) take it from there, so database names never reach argv.
    const bool custom = request.database && client.custom_format;
    const std::string name = custom ? "pg_restore" : "psql";
    ChildSpec spec = custom ? restore_client_spec(settings, client, true, maintenance, {"--create"}, host)
                            : restore_client_spec(settings, client, false, maintenance, {}, host);
    if (request.database)
        host.info("restoring database '" + *request.database + "' at " + where + " with " + spec.argv.front());
    else
        host.info("restoring the globals (roles, memberships, tablespaces) at " + where + " with " + spec.argv.front());
    // No CreatedDatabase: the dump's own CREATE DATABASE runs inside psql or pg_restore, so nothing proves that a
    // database under this name after a failure is the restore's (another client may have created it since the check
    // above). A failed set restore leaves it; it never drops what it cannot prove it made.
    auto client_restore = std::make_unique<ClientRestore>(std::move(spec), name, false, host, settings, nullptr);
    if (request.database) return client_restore;
    return std::make_unique<GlobalsRestore>(std::move(client_restore), restoring_role, host);
}

std::unique_ptr<RestoreTarget> start_restore(const ConnectionSettings& settings, const RestoreClient& client,
                                             const RestoreRequest& request, Host host) {
    auto cancelled = [host] { return host.cancelled(); };
    const std::string& target = request.target_database;
    std::unique_ptr<CreatedDatabase> created;
    if (request.create)
        created =
            std::make_unique<CreatedDatabase>(settings, target, create_database(settings, target, cancelled), host);
    std::string where;
    {
        std::unique_ptr<PgConnection> conn = connect_target(settings, target, cancelled);
        where = conn->endpoint().text();
        std::vector<Row> found = conn->query(kUserObjects, {}, "cannot inspect target database '" + target + "'");
        if (!found.empty()) {
            if (!request.clean) {
                std::string examples;
                for (const Row& row : found) examples += (examples.empty() ? "" : ", ") + row[1];
                throw Error(Status::fatal,
                            "target database '" + target + "' is not empty (" + found[0][0] + " objects, e.g. " +
                                examples + "); " +
                                (request.for_set ? "the set's dump of it restores only into an empty one: drop its "
                                                   "contents first, or leave it out with --database"
                                                 : "restore into an empty database, or add --clean to drop its "
                                                   "contents first"));
            }
            host.info("--clean: dropping the contents of database '" + target + "' (" + found[0][0] + " objects)");
            clean_database(*conn, target);
        }
    }

    const std::string name = client.custom_format ? "pg_restore" : "psql";
    // Not --single-transaction for psql: BEGIN here, and COMMIT from ClientRestore::finish only (see kCommit). As its
    // own --command, BEGIN leaves the dump's line numbers in psql's errors as they are in the file.
    ChildSpec spec = client.custom_format
                         ? restore_client_spec(settings, client, true, target, {"--single-transaction"}, host)
                         : restore_client_spec(settings, client, false, target, {"--command=BEGIN"}, host);
    host.info("restoring into database '" + target + "' at " + where + " with " + spec.argv.front());
    return std::make_unique<ClientRestore>(std::move(spec), name, !client.custom_format, host, settings,
                                           std::move(created));
}

}  // namespace backhaul
