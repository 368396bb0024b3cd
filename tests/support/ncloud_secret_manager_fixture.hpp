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

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "command_runner.hpp"
#include "helper_server.hpp"

namespace backhaul::testing {

class NcloudSecretManagerServer {
  public:
    // `config_json` is the server's CONFIG file content (see the server's docstring).
    explicit NcloudSecretManagerServer(const std::string& config_json)
        : config_(write_config(dir_, config_json)),
          server_("secret manager test server",
                  {"/usr/bin/python3", BACKHAUL_SOURCE_DIR "/tests/support/ncloud_secret_manager_server.py",
                   config_.string(), "--request-log", log_path().string()}) {}
    NcloudSecretManagerServer(const NcloudSecretManagerServer&) = delete;
    NcloudSecretManagerServer& operator=(const NcloudSecretManagerServer&) = delete;

    int port() const { return server_.port(); }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }
    std::filesystem::path log_path() const { return dir_ / "requests.jsonl"; }

    // The request log, one JSON object per line, oldest first.
    std::vector<std::string> requests() const {
        std::vector<std::string> lines;
        std::istringstream in(read_file(log_path()));
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) lines.push_back(line);
        return lines;
    }

    void stop() { server_.stop(); }

  private:
    static std::filesystem::path write_config(const TempDir& dir, const std::string& config_json) {
        write_file(dir / "config.json", config_json);
        return dir / "config.json";
    }

    TempDir dir_;  // before server_: its config and request log live here
    std::filesystem::path config_;
    HelperServer server_;
};

}  // namespace backhaul::testing
