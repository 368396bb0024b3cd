// pg_dump's argv, built from the plugin's options. `extra_args` is checked against an allowlist of flags that keep
// the dump a single stream on stdout; everything else is refused with the reason (or the option to use instead).
#pragma once

#include <string>
#include <vector>

namespace backhaul {

struct DumpSelection {
    bool custom_format = false;
    std::vector<std::string> schemas, exclude_schemas, tables, exclude_tables;
    bool no_owner = false;
    bool no_privileges = false;
    std::vector<std::string> extra_args;
    long long lock_wait_timeout_ms = 0;  // 0 = not set
};

// Throws backhaul::Error(invalid_config) "extra_args: '<arg>' ..." for the first item that is not allowed.
void check_extra_args(const std::vector<std::string>& extra_args);

// Every argument after the program name. No connection settings: those reach pg_dump through its environment
// (ConnectionSettings::child_environment), the database too (PGDATABASE). Does not check extra_args.
std::vector<std::string> pg_dump_arguments(const DumpSelection& selection);

}  // namespace backhaul
