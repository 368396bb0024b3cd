// A local HTTP receiver for notification tests (tests/support/http_receiver.py): started per test, records each
// request, answers with the given status codes in order. Header-only.
//
//   backhaul::testing::HttpReceiver hook({500, 200});   // first request fails, then 200
//   ... run something that POSTs to hook.url("/x") ...
//   auto requests = hook.wait_for(2);                    // nlohmann::json objects: method, path, headers, body
#pragma once

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "command_runner.hpp"
#include "helper_server.hpp"

namespace backhaul::testing {

class HttpReceiver {
  public:
    enum class Body { text, endless };  // "ok" / "receiver says no", or a body that never ends

    explicit HttpReceiver(const std::vector<int>& statuses = {200}, Body body = Body::text)
        : server_("http_receiver.py", arguments(dir_ / "requests.jsonl", statuses, body)) {}
    HttpReceiver(const HttpReceiver&) = delete;
    HttpReceiver& operator=(const HttpReceiver&) = delete;

    std::string url(const std::string& path = "/hook") const {
        return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
    }

    std::vector<nlohmann::json> requests() const {
        std::vector<nlohmann::json> out;
        std::ifstream in(dir_ / "requests.jsonl");
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
    static std::vector<std::string> arguments(const std::filesystem::path& record, const std::vector<int>& statuses,
                                              Body body) {
        std::vector<std::string> argv = {"/usr/bin/python3", BACKHAUL_SOURCE_DIR "/tests/support/http_receiver.py",
                                         record.string()};
        if (body == Body::endless) argv.push_back("--endless-body");
        for (int status : statuses) argv.push_back(std::to_string(status));
        return argv;
    }

    TempDir dir_;  // before server_: the request record lives here
    HelperServer server_;
};

// A URL on which nothing listens: a port that was just free.
inline std::string dead_url() { return "http://127.0.0.1:9/hook"; }

}  // namespace backhaul::testing
