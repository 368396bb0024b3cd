// Where and as whom to connect, shared by the libpq preflight, pg_dump, psql and pg_restore. None of it reaches a
// client program's command line, which every local user can read in /proc: libpq gets the settings as parameters,
// child processes as libpq's environment variables (PGHOST, PGUSER, PGPASSWORD, ...), so any of them may be a secret.
// An option left out is left to libpq, as psql would: PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE, a service
// (PGSERVICE, pg_service.conf), the password file (~/.pgpass, PGPASSFILE) and libpq's defaults.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace backhaul {

struct ConnectionSettings {
    std::optional<std::string> host;      // unset: libpq's (PGHOST, the service, else the local socket)
    std::optional<int> port;              // unset: libpq's (PGPORT, the service, else 5432)
    std::optional<std::string> user;      // unset: libpq's (PGUSER, the service, else the OS user)
    std::optional<std::string> database;  // unset: libpq's (PGDATABASE, the service, else the user name)
    std::optional<std::string> password;  // unset: libpq's (PGPASSWORD, the service, the password file)
    std::optional<std::string> sslmode;
    std::optional<std::string> sslrootcert;
    std::chrono::milliseconds connect_timeout{30000};

    // How errors name the server before libpq resolved anything (see Endpoint for after): the configured host and
    // port, "default host" / "default port" for what libpq will choose.
    std::string configured_endpoint() const;

    // The database a connection without an explicit one goes to, resolved the way libpq does it: option 'database',
    // else the service's or PGDATABASE, else the user name (option 'user', the service's or PGUSER, else the OS
    // user). For the restore's default target, which must be known before connecting (it may not exist yet).
    std::string default_database() const;

    // libpq keyword/value pairs for PQconnectStartParams, including the password; `database` overrides option
    // 'database' (the restore's target). Only what is configured: the rest is libpq's to resolve.
    std::vector<std::pair<std::string, std::string>> libpq_parameters(
        const std::optional<std::string>& database = std::nullopt) const;

    // The environment a client program connecting to `database` gets (see ChildSpec::env): libpq's variables for
    // every parameter of libpq_parameters (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGAPPNAME, ...), then the
    // libpq variables of ours for everything else (PGHOST, PGSSLMODE, PGPASSFILE, PGOPTIONS, ...). With PGSERVICE set,
    // the service is resolved here and not passed on (see the .cpp).
    std::vector<std::pair<std::string, std::string>> child_environment(
        const std::optional<std::string>& database = std::nullopt) const;

    // `text` with every occurrence of the password replaced by "<redacted>" (passwords shorter than 4 characters are
    // left alone, as the core does: they would redact ordinary words).
    std::string redact(std::string text) const;
};

// Where a connection went, as libpq resolved it (PQhost, PQport, PQuser, PQdb): for the errors, the log and the
// key template's {database} and {host}.
struct Endpoint {
    std::string host;  // a host name or address, or a socket directory (starts with '/' or '@')
    std::string port;
    std::string user;
    std::string database;

    bool is_socket() const { return host.empty() || host.front() == '/' || host.front() == '@'; }
    // "db.example:5432", "[::1]:5432", "socket /var/run/postgresql/.s.PGSQL.5432".
    std::string text() const;
};

}  // namespace backhaul
