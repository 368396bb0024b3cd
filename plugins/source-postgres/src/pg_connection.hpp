// One libpq connection for the preflight and the restore's housekeeping (CREATE DATABASE, emptiness check, clean).
// Connecting polls a cancellation check, and a failure becomes one clear line: unreachable server, wrong password,
// unknown database, missing CONNECT privilege, ... (libpq's text goes to the detail).
#pragma once

#include <backhaul/sdk.hpp>
#include <functional>
#include <optional>
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

// A connection that could not be made; what() is the user-facing line, naming the endpoint libpq tried.
class ConnectError : public Error {
  public:
    ConnectError(ConnectFailure failure, const std::string& message, std::string detail, Endpoint tried,
                 std::string where)
        : Error(Status::fatal, message, std::move(detail)),
          failure_(failure),
          tried_(std::move(tried)),
          where_(std::move(where)) {}
    ConnectFailure failure() const { return failure_; }
    // What libpq tried, with the user and database it resolved ("" where it did not get that far).
    const Endpoint& tried() const { return tried_; }
    // tried().text(), or the configured endpoint when libpq did not get that far (an undefined service).
    const std::string& where() const { return where_; }

  private:
    ConnectFailure failure_;
    Endpoint tried_;
    std::string where_;
};

using Row = std::vector<std::string>;

class PgConnection {
  public:
    // Connects to `database` (nullopt: option 'database', else libpq's default), polling `cancelled` at least every
    // 100 ms; throws ConnectError (or Error(cancelled)).
    PgConnection(const ConnectionSettings& settings, const std::optional<std::string>& database,
                 const std::function<bool()>& cancelled);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // Where this connection went, as libpq resolved it.
    const Endpoint& endpoint() const { return endpoint_; }
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
    Endpoint endpoint_;
};

// Classifies libpq's connection error text.
ConnectFailure classify_connect_failure(const std::string& libpq_message);

}  // namespace backhaul
