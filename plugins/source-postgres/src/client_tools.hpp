// Finding the PostgreSQL client programs. pg_dump refuses to dump a server newer than itself, so the backup picks the
// newest installed pg_dump (Debian keeps one per major under /usr/lib/postgresql/<major>/bin) and fails early, naming
// both versions, when it is older than the server. psql and pg_restore come from the same place.
#pragma once

#include <backhaul/support/process/child_process.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace backhaul {

// A PostgreSQL version as server_version_num encodes it: 150018 = 15.18, 90624 = 9.6.24.
struct PgVersion {
    int number = 0;

    // The major release: 15 for 15.18, 906 (shown "9.6") for 9.6.24. pg_dump needs a major >= the server's.
    int major() const { return number >= 100000 ? number / 10000 * 100 : number / 100; }
    std::string major_text() const;  // "15", "9.6"
    std::string text() const;        // "15.18", "9.6.24"

    // From "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" or "16beta2": nullopt if there is no version.
    static std::optional<PgVersion> parse_version_output(const std::string& output);
};

struct ClientTool {
    std::string path;
    PgVersion version;
};

// Runs `<path> --version` and parses it. Throws Error(fatal) if it cannot run or prints no version.
ClientTool probe_client(const std::string& path);

// The pg_dump to use against a server of `server`: `configured` (option 'pg_dump') if set, else the newest
// <root>/<major>/bin/pg_dump, else pg_dump from PATH. Throws Error(fatal) naming both versions when the one found is
// older than the server, or when none is found.
ClientTool select_pg_dump(PgVersion server, const std::optional<std::string>& configured,
                          const std::filesystem::path& root = "/usr/lib/postgresql");

// Where to run `tool` ("psql", "pg_restore") from: next to the configured pg_dump if it is a path, else the newest
// <root>/<major>/bin/<tool>, else the bare name (looked up in PATH when started).
std::string locate_client(const std::string& tool, const std::optional<std::string>& configured_pg_dump,
                          const std::filesystem::path& root = "/usr/lib/postgresql");

// "pg_dump exited with status 1: <tail>" / "psql was killed by signal 9 (SIGKILL): <tail>". `name` is the program's
// short name, `tail` its stderr tail, already redacted.
std::string describe_client_exit(const std::string& name, const ExitStatus& status, const std::string& tail);

}  // namespace backhaul
