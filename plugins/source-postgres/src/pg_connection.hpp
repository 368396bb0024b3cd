// One libpq connection for the preflight and the restore's housekeeping (CREATE DATABASE, emptiness check, clean).
// Connecting polls a cancellation check, and a failure becomes one clear line: unreachable server, wrong password,
// unknown database, missing CONNECT privilege, ... (libpq's text goes to the detail).
#pragma once

#include <backhaul/sdk.hpp>
#include <functional>
#include <string>
#include <vector>

#include "connection_settings.hpp"

struct pg_conn;

namespace backhaul {

enum class ConnectFailure {
    unreachable,
    authentication,
    no_password,
    unknown_database,
    unknown_user,
    no_connect_privilege,
    rejected,
    other,
};

// A connection that could not be made; what() is the user-facing line.
class ConnectError : public Error {
  public:
    ConnectError(ConnectFailure failure, const std::string& message, std::string detail)
        : Error(Status::fatal, message, std::move(detail)), failure_(failure) {}
    ConnectFailure failure() const { return failure_; }

  private:
    ConnectFailure failure_;
};

using Row = std::vector<std::string>;

class PgConnection {
  public:
    // Connects to `database`, polling `cancelled` at least every 100 ms; throws ConnectError (or Error(cancelled)).
    PgConnection(const ConnectionSettings& settings, const std::string& database,
                 const std::function<bool()>& cancelled);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    int server_version_num() const;
    // "15.18" from "15.18 (Debian 15.18-0+deb12u1)".
    std::string server_version() const;

    // Runs one statement with text parameters; returns its rows (NULL as ""). Throws Error(fatal) "<what>: <message>".
    std::vector<Row> query(const std::string& sql, const std::vector<std::string>& params = {},
                           const std::string& what = "query failed");
    // Quotes an identifier for SQL text (CREATE DATABASE cannot take a parameter).
    std::string quote_identifier(const std::string& name) const;

  private:
    pg_conn* conn_ = nullptr;
};

// Classifies libpq's connection error text.
ConnectFailure classify_connect_failure(const std::string& libpq_message);

}  // namespace backhaul
