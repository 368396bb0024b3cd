#include "pg_connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <memory>

namespace backhaul {
namespace {

constexpr int kPollIntervalMs = 100;

std::string first_line(std::string text) {
    // libpq prefixes server messages with "FATAL:  " and continues on indented lines.
    size_t newline = text.find('\n');
    if (newline != std::string::npos) text.resize(newline);
    for (const char* prefix : {"FATAL:  ", "ERROR:  "}) {
        size_t at = text.find(prefix);
        if (at != std::string::npos) text = text.substr(at + std::string(prefix).size());
    }
    return text;
}

// The part of libpq's message after `connection to server at "h", port p failed: `.
std::string reason_of(const std::string& message) {
    std::string line = first_line(message);
    size_t at = line.find(" failed: ");
    return at == std::string::npos ? line : line.substr(at + 9);
}

// Where the password libpq sent came from, for the hint after a failed login.
std::string password_source(const ConnectionSettings& settings) {
    if (settings.password) return "option 'password'";
    if (std::getenv("PGPASSWORD")) return "PGPASSWORD";
    const char* passfile = std::getenv("PGPASSFILE");
    return std::string("the password file (") + (passfile ? passfile : "~/.pgpass") + ") or the service file";
}

Endpoint resolved_endpoint(const pg_conn* conn) {
    auto text = [](const char* value) { return std::string(value ? value : ""); };
    return {text(PQhost(conn)), text(PQport(conn)), text(PQuser(conn)), text(PQdb(conn))};
}

std::string describe_failure(ConnectFailure failure, const ConnectionSettings& settings, const Endpoint& endpoint,
                             const std::string& where_text, const std::string& message) {
    const std::string where = " at " + where_text;
    const std::string user = endpoint.user.empty() ? settings.user.value_or("(default)") : endpoint.user;
    const std::string database = endpoint.database.empty() ? settings.default_database() : endpoint.database;
    switch (failure) {
        case ConnectFailure::authentication:
            return "password authentication failed for user '" + user + "'" + where + " (check " +
                   password_source(settings) + "; the password is not shown)";
        case ConnectFailure::no_password:
            return "the server" + where + " requires a password for user '" + user +
                   "' but none is set: set option 'password' (e.g. from a ${secret:...}) or add the user to the " +
                   "password file (~/.pgpass, PGPASSFILE)";
        case ConnectFailure::unknown_database:
            return "database '" + database + "' does not exist" + where;
        case ConnectFailure::unknown_user:
            return "user '" + user + "' does not exist" + where;
        case ConnectFailure::no_connect_privilege:
            return "user '" + user + "' may not connect to database '" + database + "'" + where +
                   " (missing CONNECT privilege)";
        case ConnectFailure::rejected:
            return "the server" + where + " rejects this client for user '" + user + "' and database '" + database +
                   "' (no matching pg_hba.conf entry)";
        case ConnectFailure::unreachable: {
            std::string reason = reason_of(message);
            if (reason.find("Connection refused") != std::string::npos) reason = "connection refused";
            if (reason.find("timeout expired") != std::string::npos) reason = "connection timed out";
            if (reason.find("could not translate host name") != std::string::npos) reason = "unknown host name";
            if (reason.find("No such file or directory") != std::string::npos) reason = "no server on this socket";
            return "cannot connect to PostgreSQL" + where + " as user '" + user + "' to database '" + database +
                   "': " + reason;
        }
        case ConnectFailure::other:
            break;
    }
    // libpq did not get as far as a server (an undefined service, an invalid setting): no user or database yet.
    if (endpoint.port.empty()) return "cannot connect to PostgreSQL" + where + ": " + reason_of(message);
    return "cannot connect to PostgreSQL" + where + " as user '" + user + "' to database '" + database +
           "': " + reason_of(message);
}

// The error for a connection attempt that failed, naming what libpq tried (before the caller finishes `conn`).
ConnectError connect_error(const pg_conn* conn, ConnectFailure failure, const ConnectionSettings& settings,
                           const std::string& message, std::string detail) {
    Endpoint tried = resolved_endpoint(conn);
    // No port when libpq did not get as far as a server (an undefined service, an invalid setting): then the
    // configured endpoint is all there is to name.
    std::string where = tried.port.empty() ? settings.configured_endpoint() : tried.text();
    std::string line = describe_failure(failure, settings, tried, where, message);
    return ConnectError(failure, line, std::move(detail), std::move(tried), std::move(where));
}

}  // namespace

ConnectFailure classify_connect_failure(const std::string& m) {
    auto has = [&](const char* text) { return m.find(text) != std::string::npos; };
    if (has("password authentication failed")) return ConnectFailure::authentication;
    if (has("no password supplied")) return ConnectFailure::no_password;
    if (has("database \"") && has("\" does not exist")) return ConnectFailure::unknown_database;
    if (has("role \"") && has("\" does not exist")) return ConnectFailure::unknown_user;
    if (has("permission denied for database")) return ConnectFailure::no_connect_privilege;
    if (has("no pg_hba.conf entry")) return ConnectFailure::rejected;
    if (has("Connection refused") || has("timeout expired") || has("could not translate host name") ||
        has("No route to host") || has("Network is unreachable") || has("could not connect to server") ||
        has("No such file or directory"))
        return ConnectFailure::unreachable;
    return ConnectFailure::other;
}

PgConnection::PgConnection(const ConnectionSettings& settings, const std::optional<std::string>& database,
                           const std::function<bool()>& cancelled) {
    auto params = settings.libpq_parameters(database);
    std::vector<const char*> keys, values;
    for (const auto& [key, value] : params) {
        keys.push_back(key.c_str());
        values.push_back(value.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    // expand_dbname = 0: a database name containing '=' is a name, not a connection string.
    conn_ = PQconnectStartParams(keys.data(), values.data(), 0);
    if (!conn_) throw Error(Status::fatal, "cannot connect to PostgreSQL: out of memory");
    // Server notices (e.g. "drop cascades to ...") would otherwise go straight to our stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);

    // libpq applies connect_timeout only to blocking connects; this loop applies it to each host attempt overall.
    const auto deadline = std::chrono::steady_clock::now() + settings.connect_timeout;
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    while (PQstatus(conn_) != CONNECTION_BAD && state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
        if (cancelled()) {
            PQfinish(std::exchange(conn_, nullptr));
            throw Error(Status::cancelled, "cancelled");
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ConnectError error = connect_error(conn_, ConnectFailure::unreachable, settings, "timeout expired",
                                               "no answer within connect_timeout");
            PQfinish(std::exchange(conn_, nullptr));
            throw error;
        }
        pollfd p{PQsocket(conn_), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
        int ready = p.fd < 0 ? 1 : ::poll(&p, 1, kPollIntervalMs);
        if (ready > 0) state = PQconnectPoll(conn_);
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string message = settings.redact(PQerrorMessage(conn_));
        ConnectError error = connect_error(conn_, classify_connect_failure(message), settings, message, message);
        PQfinish(std::exchange(conn_, nullptr));
        throw error;
    }
    endpoint_ = resolved_endpoint(conn_);
}

PgConnection::~PgConnection() {
    if (conn_) PQfinish(conn_);
}

int PgConnection::server_version_num() const { return PQserverVersion(conn_); }

std::string PgConnection::server_version() const {
    const char* text = PQparameterStatus(conn_, "server_version");
    std::string version = text ? text : "";
    size_t space = version.find(' ');
    if (space != std::string::npos) version.resize(space);
    return version;
}

std::vector<Row> PgConnection::query(const std::string& sql, const std::vector<std::string>& params,
                                     const std::string& what) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    std::unique_ptr<PGresult, void (*)(PGresult*)> result(
        PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0),
        PQclear);
    ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        std::string message = result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_);
        throw Error(Status::fatal, what + ": " + first_line(message), message);
    }
    std::vector<Row> rows;
    for (int r = 0; r < PQntuples(result.get()); ++r) {
        Row row;
        for (int c = 0; c < PQnfields(result.get()); ++c) row.emplace_back(PQgetvalue(result.get(), r, c));
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string PgConnection::quote_identifier(const std::string& name) const {
    char* quoted = PQescapeIdentifier(conn_, name.c_str(), name.size());
    if (!quoted) throw Error(Status::fatal, "cannot quote identifier: " + first_line(PQerrorMessage(conn_)));
    std::string out = quoted;
    PQfreemem(quoted);
    return out;
}

}  // namespace backhaul
