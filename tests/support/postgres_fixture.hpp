// A real PostgreSQL server for tests: a fresh cluster in a temp dir, scram-sha-256 password auth over TCP for one
// superuser role with a random password, listening on 127.0.0.1 at a free port (its unix socket, which trusts local
// users, stays inside the private temp dir). Stopped (pg_ctl stop -m immediate) and removed when the object goes
// away. The cluster is a copy of one made by initdb once per machine and major version
// ($TMPDIR/backhaul-pg-template-v1-<major>-<owner>): initdb takes seconds, and ctest runs every test in its own
// process. Server binaries come from the newest
// /usr/lib/postgresql/<major>/bin (Debian's `postgresql` package). initdb and postgres refuse to run as root: when
// the tests run as root the cluster belongs to the `postgres` user (or `nobody`), and clients connect over TCP.
//
// Start one per test suite, it takes 1-2 s:
//
//   class MyTest : public ::testing::Test {
//     protected:
//       static void SetUpTestSuite() {
//           server_ = backhaul::testing::PostgresServer::start_or_null(&error_, [](auto& server) { ... });
//       }
//       static void TearDownTestSuite() { server_.reset(); }
//       void SetUp() override { ASSERT_TRUE(server_) << error_; }
//       static inline std::unique_ptr<backhaul::testing::PostgresServer> server_;
//       static inline std::string error_;
//   };
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "command_runner.hpp"

namespace backhaul::testing {

class PostgresServer {
  public:
    static constexpr const char* kUser = "backhaul_test";

    PostgresServer() : bin_dir_(newest_bin_dir()), password_("Bh pw'" + random_hex(12) + "\"x") {
        server_user_ = ::geteuid() == 0 ? pick_unprivileged_user() : std::string();
        if (!server_user_.empty()) {
            struct passwd* pw = ::getpwnam(server_user_.c_str());
            if (::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
                throw std::runtime_error("cannot chown " + dir_.path().string() + " to " + server_user_);
        }
        // initdb costs seconds and every test runs in its own process: copy a cluster made once per machine.
        std::filesystem::path cluster = template_cluster();
        CommandResult copy = run_as_server({"cp", "-a", cluster.string(), data_dir().string()});
        if (copy.exit_code != 0) throw std::runtime_error("cannot copy the template cluster: " + copy.err);
        // Another process may take the port between our probe and the server's bind: try a few.
        std::string last_error;
        for (int attempt = 0; attempt < 5 && !running_; ++attempt) {
            port_ = free_port();
            CommandResult start =
                run_as_server({(bin_dir_ / "pg_ctl").string(), "-D", data_dir().string(), "-l",
                               (dir_ / "server.log").string(), "-w", "-t", "30", "-o",
                               "-p " + std::to_string(port_) + " -k " + dir_.path().string() +
                                   " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                                   " -c full_page_writes=off -c max_connections=30",
                               "start"});
            running_ = start.exit_code == 0;
            if (!running_) last_error = start.out + start.err + read_file(dir_ / "server.log");
        }
        if (!running_) throw std::runtime_error("cannot start PostgreSQL: " + last_error);
        restore_own_password();
    }

    // Sets the test role's password (again: a restored pg_dumpall of another server replaces it with that one's).
    // The unix socket (in our private dir) trusts local users; TCP, which the tests use, needs the password.
    void restore_own_password() const {
        std::string quoted;
        for (char c : password_) quoted += c == '\'' ? std::string("''") : std::string(1, c);
        CommandOptions options;
        options.stdin_data = "ALTER ROLE " + std::string(kUser) + " PASSWORD '" + quoted + "';";
        CommandResult set =
            run_command({(bin_dir_ / "psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dir_.path().string(),
                         "-p", std::to_string(port_), "-U", kUser, "-d", "postgres"},
                        options);
        if (set.exit_code != 0) throw std::runtime_error("cannot set the test role's password: " + set.err);
    }

    ~PostgresServer() {
        if (running_)
            run_as_server({(bin_dir_ / "pg_ctl").string(), "-D", data_dir().string(), "-m", "immediate", "stop"});
    }
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    // For SetUpTestSuite, where an exception would be reported far from its cause: the server with `setup` (databases,
    // roles, data) run against it, or nullptr plus the reason the start or the setup failed.
    static std::unique_ptr<PostgresServer> start_or_null(std::string* error,
                                                         const std::function<void(PostgresServer&)>& setup = {}) {
        try {
            auto server = std::make_unique<PostgresServer>();
            if (setup) setup(*server);
            return server;
        } catch (const std::exception& e) {
            *error = e.what();
            return nullptr;
        }
    }

    std::string host() const { return "127.0.0.1"; }
    int port() const { return port_; }
    std::string user() const { return kUser; }
    // Contains a space and both quote characters, so that quoting bugs show.
    const std::string& password() const { return password_; }
    const std::filesystem::path& bin_dir() const { return bin_dir_; }
    // Major version of the server binaries, e.g. 15.
    int major() const { return std::stoi(bin_dir_.parent_path().filename().string()); }

    // libpq environment for running the client programs as the test role.
    std::map<std::string, std::string> client_env() const {
        return {{"PGHOST", host()},
                {"PGPORT", std::to_string(port_)},
                {"PGUSER", kUser},
                {"PGPASSWORD", password_},
                {"PGCONNECT_TIMEOUT", "10"}};
    }

    // Runs SQL (several statements allowed) in `database`, stopping at the first error.
    CommandResult psql(const std::string& database, const std::string& sql) const {
        CommandOptions options;
        options.env = client_env();
        options.stdin_data = sql;
        return run_command(
            {(bin_dir_ / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database}, options);
    }
    // psql, throwing on failure; returns its output without the last newline.
    std::string query(const std::string& database, const std::string& sql) const {
        CommandResult r = psql(database, sql);
        if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.err);
        if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
        return r.out;
    }

    // A plain pg_dump of `database` without the lines that differ between two dumps of the same content: the
    // versions in the header and psql's per-dump \restrict key.
    std::string comparable_dump(const std::string& database) const {
        CommandOptions options;
        options.env = client_env();
        CommandResult r = run_command({(bin_dir_ / "pg_dump").string(), "--format=plain", "-d", database}, options);
        if (r.exit_code != 0) throw std::runtime_error("pg_dump failed: " + r.err);
        std::string kept;
        size_t start = 0;
        while (start < r.out.size()) {
            size_t end = r.out.find('\n', start);
            if (end == std::string::npos) end = r.out.size();
            std::string_view line(r.out.data() + start, end - start);
            bool volatile_line = line.starts_with("-- Dumped from database version") ||
                                 line.starts_with("-- Dumped by pg_dump version") || line.starts_with("\\restrict ") ||
                                 line.starts_with("\\unrestrict ");
            if (!volatile_line) kept.append(line).push_back('\n');
            start = end + 1;
        }
        return kept;
    }

    // A loopback TCP port nobody listens on right now.
    static int free_port() {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("cannot find a free port");
        }
        ::close(fd);
        return ntohs(address.sin_port);
    }

  private:
    std::filesystem::path data_dir() const { return dir_ / "data"; }

    CommandResult run_as_server(std::vector<std::string> argv) const {
        if (!server_user_.empty()) argv.insert(argv.begin(), {"runuser", "-u", server_user_, "--"});
        return run_command(argv);
    }

    // <tmp>/backhaul-pg-template-<major>-<owner>/data, created by the first test that needs it: initdb into a
    // private dir, then an atomic rename, so concurrent tests never see a half-made cluster.
    std::filesystem::path template_cluster() const {
        std::string owner = server_user_.empty() ? std::to_string(::geteuid()) : server_user_;
        std::filesystem::path cache = std::filesystem::temp_directory_path() /
                                      ("backhaul-pg-template-v1-" + std::to_string(major()) + "-" + owner);
        if (std::filesystem::exists(cache / "data" / "PG_VERSION")) return cache / "data";
        std::string pattern = cache.string() + ".XXXXXX";
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        std::filesystem::path building = pattern;
        std::filesystem::permissions(building, std::filesystem::perms(0755));
        if (!server_user_.empty()) {
            struct passwd* pw = ::getpwnam(server_user_.c_str());
            if (::chown(building.c_str(), pw->pw_uid, pw->pw_gid) != 0)
                throw std::runtime_error("cannot chown " + building.string());
        }
        CommandResult init = run_as_server({(bin_dir_ / "initdb").string(), "-D", (building / "data").string(), "-U",
                                            kUser, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                            "--locale=C", "--no-sync", "--no-instructions"});
        if (init.exit_code != 0) {
            std::filesystem::remove_all(building);
            throw std::runtime_error("initdb failed: " + init.err);
        }
        // Losing the race to another test is fine: its cluster is as good as ours.
        if (::rename(building.c_str(), cache.c_str()) != 0) std::filesystem::remove_all(building);
        return cache / "data";
    }

    static std::filesystem::path newest_bin_dir() {
        std::vector<std::pair<int, std::filesystem::path>> found;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
            const std::string name = entry.path().filename().string();
            if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit) &&
                std::filesystem::exists(entry.path() / "bin" / "initdb"))
                found.emplace_back(std::stoi(name), entry.path() / "bin");
        }
        if (found.empty())
            throw std::runtime_error(
                "no PostgreSQL server in /usr/lib/postgresql/*/bin (scripts/bootstrap installs it)");
        return std::max_element(found.begin(), found.end())->second;
    }

    static std::string pick_unprivileged_user() {
        for (const char* name : {"postgres", "nobody"})
            if (::getpwnam(name)) return name;
        throw std::runtime_error("running as root needs a 'postgres' or 'nobody' user to own the test cluster");
    }

    static std::string random_hex(int length) {
        std::random_device device;
        std::string text;
        for (int i = 0; i < length; ++i) text += "0123456789abcdef"[device() % 16];
        return text;
    }

    TempDir dir_;
    std::filesystem::path bin_dir_;
    std::string password_;
    std::string server_user_;  // empty: ourselves
    int port_ = 0;
    bool running_ = false;
};

}  // namespace backhaul::testing
