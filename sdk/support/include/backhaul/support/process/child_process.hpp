// A child process started with posix_spawnp (no shell), with its stdin/stdout optionally connected to pipes and its
// stderr always captured: the last lines end up in error messages, each line is also handed to a callback. Blocking
// operations poll a cancellation check so a cancelled run never waits on a stuck child. Destroying a running child
// terminates it (SIGTERM, then SIGKILL) and reaps it. A child's environment is minimal: the variables of ours named by
// is_inherited_variable, plus ChildSpec::env; nothing else of ours (cloud keys, ${env:...} sources) reaches it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace backhaul {

struct ChildSpec {
    enum class Input { null, pipe };                  // stdin: /dev/null, or a pipe we write (write_stdin)
    enum class Output { pipe, parent_stderr, null };  // stdout: a pipe we read (read_stdout), our stderr, /dev/null

    std::vector<std::string> argv;  // argv[0] is looked up in PATH
    // Added to (or replacing) the variables the child inherits from us (see is_inherited_variable).
    std::vector<std::pair<std::string, std::string>> env;
    std::optional<std::string> working_dir;
    Input input = Input::null;
    Output output = Output::pipe;
    // Called from the stderr reader thread with each complete line (without its newline). May be empty.
    std::function<void(std::string_view line)> on_stderr_line;
};

// How the child ended.
struct ExitStatus {
    bool exited = false;  // exited normally with `code`; otherwise killed by `signal`
    int code = 0;
    int signal = 0;
    bool success() const { return exited && code == 0; }
};

// True for the variables of our environment every child inherits: PATH, HOME, USER, LOGNAME, LANG, LC_*, TZ, TMPDIR,
// and the sanitizer settings ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS (child_process.cpp says why each).
bool is_inherited_variable(std::string_view name);

// Returns true when the caller's run is being cancelled.
using CancelCheck = std::function<bool()>;

class ChildProcess {
  public:
    // Starts the child. Throws Error(fatal) "cannot start command '<argv0>': <strerror>" if it cannot be started
    // (including a program that is not found).
    explicit ChildProcess(ChildSpec spec);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    const std::string& program() const { return spec_.argv.front(); }

    // Reads some of the child's stdout (Output::pipe). Returns 0 at EOF. Throws Error(cancelled) once `cancelled`.
    size_t read_stdout(std::span<uint8_t> buffer, const CancelCheck& cancelled);

    // Writes all of `data` to the child's stdin (Input::pipe). If the child stopped reading, waits for it and throws
    // the same failure as check_exit (or, if it exited 0, that it exited before reading all input).
    void write_stdin(std::span<const uint8_t> data, const CancelCheck& cancelled);
    // Signals end of input.
    void close_stdin();

    // Waits for the child to exit, polling `cancelled`; reaps it. Idempotent.
    ExitStatus wait(const CancelCheck& cancelled);
    // wait(), then throws Error(fatal) describing a non-zero exit or a signal, with the stderr tail.
    void wait_successfully(const CancelCheck& cancelled);

    // Stops a running child: SIGTERM, up to `grace` for it to exit, then SIGKILL; always reaps. Idempotent.
    void terminate(std::chrono::milliseconds grace = std::chrono::seconds(2)) noexcept;

    // The last lines of stderr (at most ~20 lines / 4 KiB), joined with " | ".
    std::string stderr_tail() const;

    // "command 'pg_dump' exited with status 3: <tail>" / "command 'x' was killed by signal 9 (SIGKILL): <tail>".
    std::string describe(const ExitStatus& status) const;

  private:
    void drain_stderr(int fd, int wake_fd);
    void stop_stderr_reader() noexcept;
    bool try_reap(int options);  // waitpid; true once reaped

    ChildSpec spec_;
    pid_t pid_ = -1;
    std::optional<ExitStatus> exit_;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    int wake_write_fd_ = -1;  // closing it wakes the stderr reader
    std::thread stderr_reader_;

    mutable std::mutex stderr_mutex_;
    std::condition_variable stderr_eof_changed_;
    bool stderr_eof_ = false;
    std::string stderr_tail_;     // last bytes of stderr, bounded
    std::string stderr_partial_;  // the line being received, for on_stderr_line
};

}  // namespace backhaul
