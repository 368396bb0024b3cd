// One of the Python test servers in tests/support, as a child of the test process: started with its stdin and stdout
// on pipes, ready once it prints "READY <port>", stopped with SIGTERM. Its stdin stays open while this object lives,
// so a server that watches it also exits when the test process dies. Header-only; used by the fixtures.
//
//   HelperServer server("secret manager test server", {"/usr/bin/python3", script, config});
//   server.port();
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace backhaul::testing {

class HelperServer {
  public:
    // Throws "<name> did not start: '<first line>'" (plus `hint`) if the first line is not READY within
    // `startup_limit`, or if it cannot be spawned.
    HelperServer(const std::string& name, std::vector<std::string> argv,
                 std::chrono::seconds startup_limit = std::chrono::seconds(20), const std::string& hint = "") {
        int out[2], in[2];
        if (pipe2(out, O_CLOEXEC) || pipe2(in, O_CLOEXEC)) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        std::vector<char*> args;
        for (std::string& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(out[1]);
        close(in[0]);
        stdin_ = in[1];
        if (rc != 0) {
            close(out[0]);
            close(stdin_);
            pid_ = -1;
            throw std::runtime_error("cannot start " + name + " (" + argv.back() + ")");
        }
        const std::string line = read_line(out[0], startup_limit);
        close(out[0]);
        if (line.rfind("READY ", 0) != 0) {
            stop();
            throw std::runtime_error(name + " did not start: '" + line + "'" + hint);
        }
        port_ = std::stoi(line.substr(6));
    }
    ~HelperServer() { stop(); }
    HelperServer(const HelperServer&) = delete;
    HelperServer& operator=(const HelperServer&) = delete;

    int port() const { return port_; }

    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        close(stdin_);
        stdin_ = -1;
    }

  private:
    // The first line on `fd`, or what arrived of it by `limit` or end of file.
    static std::string read_line(int fd, std::chrono::seconds limit) {
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 100) <= 0) continue;
            char c;
            if (read(fd, &c, 1) != 1 || c == '\n') break;
            line.push_back(c);
        }
        return line;
    }

    pid_t pid_ = -1;
    int stdin_ = -1;
    int port_ = 0;
};

}  // namespace backhaul::testing
