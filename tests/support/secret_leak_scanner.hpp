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
#include <mutex>
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
    // comm and parent pid from /proc/PID/stat ("pid (comm) state ppid ...").
    static bool stat_of(pid_t pid, std::string& comm, pid_t& parent) {
        std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
        size_t open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos) return false;
        comm = stat.substr(open + 1, close - open - 1);
        std::istringstream rest(stat.substr(close + 2));
        char state;
        rest >> state >> parent;
        return true;
    }
    static bool under_backhaul(pid_t pid) {
        for (int depth = 0; pid > 1 && depth < 64; ++depth) {
            std::string comm;
            pid_t parent = 0;
            if (!stat_of(pid, comm, parent)) return false;
            if (comm == "backhaul") return true;
            pid = parent;
        }
        return false;
    }

    static std::string exe_name(pid_t pid) {
        std::error_code ec;
        return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).filename().string();
    }
    // execve maps the new image (and its environment) before the kernel renames the task, so for a moment a child
    // that is becoming `sh` still reads as `backhaul` with the child's environment. A real leak is still there on the
    // next pass; a process caught mid-exec has a different comm by now or an executable that is not backhaul.
    static bool mid_exec(pid_t pid, const std::string& comm_before) {
        std::string comm_after;
        pid_t parent = 0;
        if (!stat_of(pid, comm_after, parent)) return true;  // gone: a leaking backhaul lives for many passes
        if (comm_after != comm_before) return true;
        const std::string exe = exe_name(pid);
        return comm_before == "backhaul" && !exe.empty() && exe.rfind("backhaul", 0) != 0;
    }

    void loop() {
        const pid_t self = getpid();
        while (running_) {
            std::error_code ec;
            for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
                const std::string name = entry.path().filename().string();
                if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
                pid_t pid = std::stoi(name);
                if (pid == self) continue;
                std::string comm;
                pid_t parent = 0;
                if (!stat_of(pid, comm, parent)) continue;
                if (slurp(entry.path() / "cmdline").find(secret_) != std::string::npos)
                    record("cmdline of " + name + " (" + comm + ")");
                if (!env_allowed_.count(comm) && under_backhaul(pid) &&
                    slurp(entry.path() / "environ").find(secret_) != std::string::npos && !mid_exec(pid, comm))
                    record("environment of " + name + " (" + comm + ")");
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
