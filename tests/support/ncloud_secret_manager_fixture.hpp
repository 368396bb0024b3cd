// Starts tests/support/ncloud_secret_manager_server.py (a signature-checking stand-in for NCloud Secret Manager on
// loopback) for one test and stops it afterwards. Header-only.
//
//   backhaul::testing::NcloudSecretManagerServer server(R"({"access_key":"AK","secret_key":"SK",
//       "secrets":{"db":{"chain":{"active":"{\"cdbPassword\":\"pw\"}"}}}})");
//   server.endpoint();            // "http://127.0.0.1:PORT"
//   server.requests();            // one JSON line per request the server saw
//
// The server exits when this object stops it (SIGTERM) or when the test process dies (its stdin closes).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "command_runner.hpp"

namespace backhaul::testing {

class NcloudSecretManagerServer {
  public:
    // `config_json` is the server's CONFIG file content (see the server's docstring).
    explicit NcloudSecretManagerServer(const std::string& config_json) {
        write_file(dir_ / "config.json", config_json);
        int out_pipe[2], in_pipe[2];
        if (pipe2(out_pipe, O_CLOEXEC) || pipe2(in_pipe, O_CLOEXEC)) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
        std::string script = std::string(BACKHAUL_SOURCE_DIR) + "/tests/support/ncloud_secret_manager_server.py";
        std::vector<std::string> argv = {"/usr/bin/python3", script, (dir_ / "config.json").string(), "--request-log",
                                         log_path().string()};
        std::vector<char*> args;
        for (std::string& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(out_pipe[1]);
        close(in_pipe[0]);
        stdin_ = in_pipe[1];
        if (rc != 0) {
            close(out_pipe[0]);
            throw std::runtime_error("cannot start " + script);
        }
        std::string line = read_ready_line(out_pipe[0]);
        close(out_pipe[0]);
        if (line.rfind("READY ", 0) != 0) {
            stop();
            throw std::runtime_error("secret manager test server did not start: '" + line + "'");
        }
        port_ = std::stoi(line.substr(6));
    }
    ~NcloudSecretManagerServer() { stop(); }
    NcloudSecretManagerServer(const NcloudSecretManagerServer&) = delete;
    NcloudSecretManagerServer& operator=(const NcloudSecretManagerServer&) = delete;

    int port() const { return port_; }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::filesystem::path log_path() const { return dir_ / "requests.jsonl"; }

    // The request log, one JSON object per line, oldest first.
    std::vector<std::string> requests() const {
        std::vector<std::string> lines;
        std::istringstream in(read_file(log_path()));
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) lines.push_back(line);
        return lines;
    }

    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        if (stdin_ >= 0) close(stdin_);
        stdin_ = -1;
    }

  private:
    static std::string read_ready_line(int fd) {
        std::string line;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 100) <= 0) continue;
            char c;
            if (read(fd, &c, 1) != 1) break;
            if (c == '\n') return line;
            line.push_back(c);
        }
        return line;
    }

    TempDir dir_;
    pid_t pid_ = -1;
    int stdin_ = -1;
    int port_ = 0;
};

}  // namespace backhaul::testing
