// Where and as whom to connect, shared by the libpq preflight, pg_dump, psql and pg_restore. The password never
// appears in a connection string: libpq gets it as a separate parameter, child processes through PGPASSWORD.
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

    // A libpq connection string for `database` (quoted, without the password) for a child's --dbname.
    std::string conninfo(const std::string& database) const;

    // libpq keyword/value pairs for PQconnectStartParams, including the password.
    std::vector<std::pair<std::string, std::string>> libpq_parameters(const std::string& database) const;

    // The environment a client program gets (see ChildSpec::env): the libpq variables of ours (PGSSLCERT, PGSERVICE,
    // ...), then PGAPPNAME and, if a password is set, PGPASSWORD (both replacing ours).
    std::vector<std::pair<std::string, std::string>> child_environment() const;

    // `text` with every occurrence of the password replaced by "<redacted>" (passwords shorter than 4 characters are
    // left alone, as the core does: they would redact ordinary words).
    std::string redact(std::string text) const;
};

}  // namespace backhaul
