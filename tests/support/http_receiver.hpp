// A local HTTP receiver for notification tests (tests/support/http_receiver.py): started per test, records each
// request, answers with the given status codes in order. Header-only.
//
//   backhaul::testing::HttpReceiver hook({500, 200});   // first request fails, then 200
//   ... run something that POSTs to hook.url("/x") ...
//   auto requests = hook.wait_for(2);                    // nlohmann::json objects: method, path, headers, body
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "command_runner.hpp"

namespace backhaul::testing {

class HttpReceiver {
public:
    explicit HttpReceiver(std::vector<int> statuses = {200}) {
        record_ = dir_ / "requests.jsonl";
        int out[2];
        if (pipe(out) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        std::vector<std::string> argv = {"python3", BACKHAUL_SOURCE_DIR "/tests/support/http_receiver.py",
                                         record_.string()};
        for (int s : statuses) argv.push_back(std::to_string(s));
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        int rc = posix_spawnp(&pid_, "python3", &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(out[1]);
        if (rc != 0) {
            close(out[0]);
            throw std::runtime_error("cannot start http_receiver.py");
        }
        std::string line;
        char c;
        while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
        close(out[0]);
        port_ = std::stoi(line);
    }
    ~HttpReceiver() {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }
    HttpReceiver(const HttpReceiver&) = delete;
    HttpReceiver& operator=(const HttpReceiver&) = delete;

    std::string url(const std::string& path = "/hook") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

    std::vector<nlohmann::json> requests() const {
        std::vector<nlohmann::json> out;
        std::ifstream in(record_);
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) out.push_back(nlohmann::json::parse(line));
        return out;
    }

    // The requests once at least `count` arrived (or after 10 s, whatever arrived).
    std::vector<nlohmann::json> wait_for(size_t count) const {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (requests().size() < count && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return requests();
    }

private:
    TempDir dir_;
    std::filesystem::path record_;
    pid_t pid_ = -1;
    int port_ = 0;
};

// A URL on which nothing listens: a port that was just free.
inline std::string dead_url() { return "http://127.0.0.1:9/hook"; }

}  // namespace backhaul::testing
