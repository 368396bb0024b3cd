// Watches every process while a test runs and records where a secret shows up: in any process's command line, or in the
// environment of a `backhaul` this test process started or any of its descendants other than the allowed ones
// (pg_dump and psql get a database password through PGPASSWORD by design). Command lines are world-readable, so every
// process on the machine is checked; give each test a secret of its own (unique_secret) so that a test running at the
// same time can never hold it. Environments are checked only in this test's own process tree: another test's backhaul
// may rightly hold its secrets there. Header-only; Linux /proc.
//
//   const std::string password = unique_secret("Distinctive-Pa55word");
//   SecretLeakScanner scanner(password);
//   run_command(...);
//   EXPECT_THAT(scanner.stop(), IsEmpty());
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace backhaul::testkit {

// `prefix`, this process's pid and 12 random characters: a value no other process on the machine holds.
inline std::string unique_secret(std::string_view prefix) {
    std::random_device device;
    std::string value = std::string(prefix) + "-" + std::to_string(::getpid()) + "-";
    for (int i = 0; i < 12; ++i) value += "0123456789abcdefghijklmnopqrstuvwxyz"[device() % 36];
    return value;
}

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
    // Returns once the scanner has made `count` more full passes (or after 10 s, far more than a pass takes): a test
    // that keeps a process alive until the scanner has certainly looked at it, instead of for a fixed time.
    void await_passes(int count) const {
        const int until = passes_ + count;
        for (int i = 0; i < 2000 && passes_ < until; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

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
        unsigned long long start_time = 0;  // since boot; tells a reused pid apart (exec keeps it, comm changes)
    };
    using ProcessTable = std::map<pid_t, ProcessEntry>;

    // comm, parent pid and start time from /proc/PID/stat ("pid (comm) state ppid ... starttime(22nd) ...");
    // nullopt if the process is gone.
    static std::optional<ProcessEntry> stat_of(pid_t pid) {
        std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
        size_t open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 2 > stat.size()) return std::nullopt;
        ProcessEntry entry{stat.substr(open + 1, close - open - 1)};
        std::istringstream rest(stat.substr(close + 2));
        std::string state, skipped;
        rest >> state >> entry.parent;
        for (int field = 5; field < 22; ++field) rest >> skipped;  // pgrp ... itrealvalue
        rest >> entry.start_time;
        if (!rest) return std::nullopt;
        return entry;
    }

    // A process's command line and environment, read so that they belong to the program its stat names. A process
    // that calls exec between the reads would otherwise pair the old program's name with the new program's files:
    // backhaul's child, still named backhaul, with the environment it has a moment later as pg_dump. The kernel sets
    // the new name before the new environment becomes readable, so an unchanged stat after the reads proves the files
    // are the named program's. nullopt if the process is gone or keeps changing (the next pass sees it settled).
    struct ProcessFiles {
        ProcessEntry entry;
        std::string cmdline;
        std::string environment;
    };
    static std::optional<ProcessFiles> files_of(pid_t pid) {
        const std::string dir = "/proc/" + std::to_string(pid);
        for (int attempt = 0; attempt < 3; ++attempt) {
            std::optional<ProcessEntry> before = stat_of(pid);
            if (!before) return std::nullopt;
            ProcessFiles files{*before, slurp(dir + "/cmdline"), slurp(dir + "/environ")};
            std::optional<ProcessEntry> after = stat_of(pid);
            if (!after) return std::nullopt;
            if (after->comm == before->comm && after->start_time == before->start_time) return files;
        }
        return std::nullopt;
    }

    // Whether `pid` is a `backhaul` this test process started (directly or not), or one of its descendants. Walks up
    // through this pass's table, or /proc for a process that started after the table was read.
    bool under_our_backhaul(pid_t pid, const ProcessTable& table) const {
        bool backhaul = false;
        for (int depth = 0; pid > 1 && depth < 64; ++depth) {
            if (pid == self_) return backhaul;
            const auto found = table.find(pid);
            const std::optional<ProcessEntry> entry = found != table.end() ? found->second : stat_of(pid);
            if (!entry) return false;
            backhaul = backhaul || entry->comm == "backhaul";
            pid = entry->parent;
        }
        return false;
    }

    void loop() {
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
                if (pid == self_) continue;
                if (std::optional<ProcessEntry> process = stat_of(pid)) table.emplace(pid, std::move(*process));
            }
            for (const auto& [pid, listed] : table) {
                const std::optional<ProcessFiles> process = files_of(pid);
                // Gone, or a new process under a reused pid: its parent in the table would be the old one's.
                if (!process || process->entry.start_time != listed.start_time) continue;
                const std::string label = std::to_string(pid) + " (" + process->entry.comm + ")";
                if (process->cmdline.find(secret_) != std::string::npos) record("cmdline of " + label);
                if (!env_allowed_.count(process->entry.comm) && under_our_backhaul(pid, table) &&
                    process->environment.find(secret_) != std::string::npos)
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

    const pid_t self_ = ::getpid();
    std::string secret_;
    std::set<std::string> env_allowed_;
    std::atomic<bool> running_{true};
    std::atomic<int> passes_{0};
    std::mutex mutex_;
    std::set<std::string> findings_;
    std::thread thread_;
};

}  // namespace backhaul::testkit
