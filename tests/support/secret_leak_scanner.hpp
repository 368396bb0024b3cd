// Watches every process while a test runs and records where a secret shows up: in any process's command line, or in the
// environment of `backhaul` or any of its descendants other than the allowed ones (pg_dump and psql get a database
// password through PGPASSWORD by design). Header-only; Linux /proc.
//
//   SecretLeakScanner scanner("Distinctive-Pa55word");
//   run_command(...);
//   EXPECT_THAT(scanner.stop(), IsEmpty());
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace backhaul::testing {

class SecretLeakScanner {
  public:
    explicit SecretLeakScanner(std::string secret,
                               std::set<std::string> env_allowed = {"pg_dump", "psql", "pg_restore"})
        : secret_(std::move(secret)), env_allowed_(std::move(env_allowed)), thread_([this] { loop(); }) {}
    ~SecretLeakScanner() { stop(); }
    SecretLeakScanner(const SecretLeakScanner&) = delete;
    SecretLeakScanner& operator=(const SecretLeakScanner&) = delete;

    // Stops scanning; returns one line per finding ("cmdline of 1234 (sh)", "environment of 1240 (backhaul)").
    std::vector<std::string> stop() {
        running_ = false;
        if (thread_.joinable()) thread_.join();
        std::lock_guard lock(mutex_);
        return {findings_.begin(), findings_.end()};
    }
    // How many passes over /proc were made (a test can check the scanner actually ran during the command).
    int passes() const { return passes_; }

  private:
    static std::string slurp(const std::filesystem::path& path) {
        std::ifstream f(path, std::ios::binary);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }

    struct ProcessEntry {
        std::string comm;
        pid_t parent = 0;
    };
    using ProcessTable = std::map<pid_t, ProcessEntry>;

    // comm and parent pid from /proc/PID/stat ("pid (comm) state ppid ..."); nullopt if the process is gone.
    static std::optional<ProcessEntry> stat_of(pid_t pid) {
        std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
        size_t open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos) return std::nullopt;
        ProcessEntry entry{stat.substr(open + 1, close - open - 1)};
        std::istringstream rest(stat.substr(close + 2));
        char state;
        rest >> state >> entry.parent;
        return entry;
    }

    // Walks up from `pid` through this pass's table (or /proc for a process that started after it was read).
    static bool under_backhaul(pid_t pid, const ProcessTable& table) {
        for (int depth = 0; pid > 1 && depth < 64; ++depth) {
            const auto found = table.find(pid);
            const std::optional<ProcessEntry> entry = found != table.end() ? found->second : stat_of(pid);
            if (!entry) return false;
            if (entry->comm == "backhaul") return true;
            pid = entry->parent;
        }
        return false;
    }

    void loop() {
        const pid_t self = getpid();
        ProcessTable table;
        while (running_) {
            // One sweep of /proc per pass (comm and parent of every process), so a pass stays short enough to catch
            // children that live a fraction of a second even on a loaded machine.
            table.clear();
            std::error_code ec;
            for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
                const std::string name = entry.path().filename().string();
                if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
                pid_t pid = std::stoi(name);
                if (pid == self) continue;
                if (std::optional<ProcessEntry> process = stat_of(pid)) table.emplace(pid, std::move(*process));
            }
            for (const auto& [pid, process] : table) {
                const std::string dir = "/proc/" + std::to_string(pid);
                const std::string label = std::to_string(pid) + " (" + process.comm + ")";
                if (slurp(dir + "/cmdline").find(secret_) != std::string::npos) record("cmdline of " + label);
                if (!env_allowed_.count(process.comm) && under_backhaul(pid, table) &&
                    slurp(dir + "/environ").find(secret_) != std::string::npos)
                    record("environment of " + label);
            }
            ++passes_;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    void record(const std::string& finding) {
        std::lock_guard lock(mutex_);
        findings_.insert(finding);
    }

    std::string secret_;
    std::set<std::string> env_allowed_;
    std::atomic<bool> running_{true};
    std::atomic<int> passes_{0};
    std::mutex mutex_;
    std::set<std::string> findings_;
    std::thread thread_;
};

}  // namespace backhaul::testing
