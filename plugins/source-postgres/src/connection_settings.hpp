// Where and as whom to connect, shared by the libpq preflight, pg_dump, psql and pg_restore. None of it reaches a
// client program's command line, which every local user can read in /proc: libpq gets the settings as parameters,
// child processes as libpq's environment variables (PGHOST, PGUSER, PGPASSWORD, ...), so any of them may be a secret.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace backhaul {

struct ConnectionSettings {
    std::optional<std::string> host;  // unset: libpq's default (the local socket)
    int port = 5432;
    std::optional<std::string> user;  // unset: libpq's default (the OS user)
    std::string database;
    std::optional<std::string> password;
    std::optional<std::string> sslmode;
    std::optional<std::string> sslrootcert;
    std::chrono::milliseconds connect_timeout{30000};

    // "db.example:5432", or "local socket, port 5432" without a host: how errors name the server.
    std::string endpoint() const;

    // libpq keyword/value pairs for PQconnectStartParams, including the password.
    std::vector<std::pair<std::string, std::string>> libpq_parameters(const std::string& database) const;

    // The environment a client program connecting to `database` gets (see ChildSpec::env): libpq's variables for
    // every parameter of libpq_parameters (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGAPPNAME, ...), then the
    // libpq variables of ours for everything else (PGSSLCERT, PGOPTIONS, ...). With PGSERVICE set, the service is
    // resolved here and not passed on (see the .cpp).
    std::vector<std::pair<std::string, std::string>> child_environment(const std::string& database) const;

    // `text` with every occurrence of the password replaced by "<redacted>" (passwords shorter than 4 characters are
    // left alone, as the core does: they would redact ordinary words).
    std::string redact(std::string text) const;
};

}  // namespace backhaul
