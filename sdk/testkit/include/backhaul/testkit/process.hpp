// Runs a program the way an operator would (argv, extra environment, optional stdin) and captures its exit status,
// stdout and stderr; temporary directories and files. Header-only, part of the installed contract test kit
// (sdk/README.md, "Testing a plugin") and used by Backhaul's own end-to-end tests of the real `backhaul` binary.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace backhaul::testkit {

struct CommandResult {
    int exit_code = -1;  // -1 if killed by a signal
    int signal = 0;
    std::string out;
    std::string err;
};

struct CommandOptions {
    std::map<std::string, std::string> env;  // added to (or replacing in) the current environment
    std::string stdin_data;
    // Called once with the child's pid after `after` has elapsed, e.g. to send SIGTERM mid-run.
    std::function<void(pid_t)> while_running;
    std::chrono::milliseconds after{0};
};

// A program started in the background: its output is collected on threads of its own (so it never blocks on a full
// pipe while the test waits for something else), and wait() returns what it printed and how it ended. A command
// that is never waited for is killed (SIGKILL) and reaped when the object goes away.
class RunningCommand {
  public:
    explicit RunningCommand(const std::vector<std::string>& argv, const CommandOptions& options = {}) {
        int out_pipe[2], err_pipe[2], in_pipe[2];
        if (pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC) || pipe2(in_pipe, O_CLOEXEC))
            throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
        posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

        std::map<std::string, std::string> env_map;
        for (char** e = environ; *e; ++e) {
            std::string kv = *e;
            size_t eq = kv.find('=');
            if (eq != std::string::npos) env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        for (const auto& [k, v] : options.env) env_map[k] = v;
        std::vector<std::string> env_strings;
        for (const auto& [k, v] : env_map) env_strings.push_back(k + "=" + v);
        std::vector<char*> envp, args;
        for (auto& s : env_strings) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::vector<std::string> argv_copy = argv;
        for (auto& s : argv_copy) args.push_back(s.data());
        args.push_back(nullptr);

        int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        close(out_pipe[1]);
        close(err_pipe[1]);
        close(in_pipe[0]);
        if (rc != 0) {
            close(out_pipe[0]);
            close(err_pipe[0]);
            close(in_pipe[1]);
            throw std::runtime_error("cannot run " + argv[0]);
        }
        signal(SIGPIPE, SIG_IGN);  // a child that stops reading its input must not kill the test
        writer_ = std::thread([fd = in_pipe[1], data = options.stdin_data] {
            const char* p = data.data();
            size_t left = data.size();
            while (left > 0) {
                ssize_t n = write(fd, p, left);
                if (n <= 0) break;
                p += n;
                left -= static_cast<size_t>(n);
            }
            close(fd);
        });
        stdout_reader_ = std::thread([this, fd = out_pipe[0]] { drain(fd, result_.out); });
        stderr_reader_ = std::thread([this, fd = err_pipe[0]] { drain(fd, result_.err); });
    }
    RunningCommand(const RunningCommand&) = delete;
    RunningCommand& operator=(const RunningCommand&) = delete;
    ~RunningCommand() {
        if (!waited_) {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }

    pid_t pid() const { return pid_; }

    // True once the program closed its stdout and stderr (it ended, or is about to), waiting at most `timeout`.
    bool wait_for_output_end(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return closed_changed_.wait_for(lock, timeout, [this] { return closed_ == 2; });
    }

    // Waits for the program to end and returns its exit status and everything it printed.
    CommandResult wait() {
        if (waited_) return result_;
        writer_.join();
        stdout_reader_.join();
        stderr_reader_.join();
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
        waited_ = true;
        return result_;
    }

  private:
    void drain(int fd, std::string& into) {
        char buf[65536];
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            into.append(buf, static_cast<size_t>(n));
        }
        close(fd);
        std::lock_guard lock(mutex_);
        ++closed_;
        closed_changed_.notify_all();
    }

    pid_t pid_ = 0;
    CommandResult result_;
    bool waited_ = false;
    std::mutex mutex_;
    std::condition_variable closed_changed_;
    int closed_ = 0;
    std::thread writer_, stdout_reader_, stderr_reader_;
};

// Runs a program to its end. With `while_running`, calls it once with the pid after `after` if the program is still
// running then.
inline CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {}) {
    RunningCommand command(argv, options);
    if (options.while_running && !command.wait_for_output_end(options.after)) options.while_running(command.pid());
    return command.wait();
}

// A fresh directory under $TMPDIR, removed with everything in it when the object goes away.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "backhaul-test-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

// Creates the parent directories too; throws if the file cannot be written (a test must not go on without it).
inline void write_file(const std::filesystem::path& path, const std::string& content) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    std::ofstream f(path, std::ios::binary);
    f << content;
    f.close();
    if (!f) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Every regular file below `dir`, as paths relative to it, sorted.
inline std::vector<std::string> files_below(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    if (!std::filesystem::exists(dir)) return out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (!e.is_directory()) out.push_back(std::filesystem::relative(e.path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace backhaul::testkit
