// `backhaul restore` into PostgreSQL: optionally create the target database, refuse a non-empty one unless told to
// clean it, then feed the stream to psql (plain dumps) or pg_restore (custom dumps) on stdin.
#pragma once

#include <backhaul/sdk.hpp>
#include <memory>
#include <optional>
#include <string>

#include "connection_settings.hpp"

namespace backhaul {

struct RestoreRequest {
    std::string target_database;
    bool create = false;   // CREATE DATABASE first; fails if it exists
    bool clean = false;    // drop the target's contents first instead of refusing a non-empty database
    bool for_set = false;  // a set's stream (SetRestoreRequest::into_existing), which offers no --clean
};

struct RestoreClient {
    bool custom_format = false;
    bool no_owner = false;
    bool no_privileges = false;
    std::optional<std::string> configured_pg_dump;  // psql/pg_restore are taken from its directory
};

std::unique_ptr<RestoreTarget> start_restore(const ConnectionSettings& settings, const RestoreClient& client,
                                             const RestoreRequest& request, Host host);

// One stream of a set (docs/sets.md), restored through a connection to the maintenance database.
struct SetRestoreRequest {
    // nullopt: the globals (pg_dumpall --globals-only), fed to psql with its CREATE ROLE lines made idempotent.
    // Else a dump that creates this database itself (plain: pg_dump --create; custom: pg_restore --create); refused
    // when the database exists, and left in place when the restore fails (nothing proves the restore made it).
    std::optional<std::string> database;
    // The dump does not create its database (pg_dumpall's rule for `postgres`): restored into the existing database,
    // which must be empty, or into a new one created first when it is missing.
    bool into_existing = false;
    std::string maintenance_database;
};

std::unique_ptr<RestoreTarget> start_set_restore(const ConnectionSettings& settings, const RestoreClient& client,
                                                 const SetRestoreRequest& request, Host host);

}  // namespace backhaul
