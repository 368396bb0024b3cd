#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <backhaul/sdk.hpp>
#include <backhaul/support/process/child_process.hpp>
#include <cstring>
#include <deque>

extern char** environ;

namespace backhaul {
namespace {

constexpr int kPollIntervalMs = 100;
constexpr size_t kStderrTailBytes = 4096;
constexpr size_t kStderrTailLines = 20;
constexpr int kPipeBytes = 1 << 20;
// A large read that finds less than kGatherBelow bytes in the pipe waits kGatherWait first (see read_stdout).
constexpr size_t kGatherBelow = 64 << 10;
constexpr useconds_t kGatherWait = 500;
// After the child exited, how long stderr may stay open (held by a grandchild) before we stop waiting for its end.
constexpr auto kStderrLinger = std::chrono::seconds(1);

void close_fd(int& fd) noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

// Closes both ends of a pipe on scope exit unless released: keeps the error paths of the constructor leak-free.
struct Pipe {
    int read = -1;
    int write = -1;
    Pipe() {
        int fds[2];
        // O_CLOEXEC on both ends: a child spawned concurrently by another stage must not inherit them.
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw Error(Status::fatal, std::string("cannot create pipe: ") + strerror(errno));
        read = fds[0];
        write = fds[1];
    }
    ~Pipe() {
        close_fd(read);
        close_fd(write);
    }
    int take_read() { return std::exchange(read, -1); }
    int take_write() { return std::exchange(write, -1); }
};

// Writing to a pipe whose reader is gone raises SIGPIPE, which by default kills the whole backup process. The
// disposition is process-wide and belongs to the host, so instead we block SIGPIPE in this thread for the duration of
// the write (write then fails with EPIPE) and discard a SIGPIPE our write left pending before unblocking.
class SigpipeBlocked {
  public:
    SigpipeBlocked() {
        sigemptyset(&sigpipe_);
        sigaddset(&sigpipe_, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
        was_pending_ = pending();
    }
    ~SigpipeBlocked() {
        if (!was_pending_ && pending()) {
            timespec zero{};
            while (sigtimedwait(&sigpipe_, nullptr, &zero) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }

  private:
    bool pending() const {
        sigset_t set;
        sigpending(&set);
        return sigismember(&set, SIGPIPE) == 1;
    }
    sigset_t sigpipe_;
    sigset_t previous_;
    bool was_pending_ = false;
};

Error cancelled_error() { return Error(Status::cancelled, "cancelled"); }

// posix_spawn's C structures, released on every path.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
};

// Each of these is what a program needs to behave as it does in the operator's shell, and none carries a credential:
//   PATH           the child finds the programs it runs itself (a script calling gzip, pg_dump calling nothing else)
//   HOME           per-user configuration: ~/.pgpass, ~/.pg_service.conf, a tool's dotfiles
//   USER, LOGNAME  scripts and tools that default to "the current user" by name
//   LANG, LC_*     the language of messages and the character set of text the child reads and writes
//   TZ             times the child prints or names files by match the operator's (and backhaul's) local time
//   TMPDIR         temporary files go where the operator put them (a big or private volume), not /tmp
//   ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS
//                  only diagnostics settings; a child that is itself an instrumented build (a test helper, another
//                  backhaul) must report as the suite configured it instead of its defaults
// Not TERM: a child's stdin, stdout and stderr are never a terminal. Anything else a command needs is set explicitly
// (source-command's `env`, source-postgres's libpq settings).
constexpr std::string_view kInheritedVariables[] = {"PATH", "HOME",   "USER",         "LOGNAME",       "LANG",
                                                    "TZ",   "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};

}  // namespace

bool is_inherited_variable(std::string_view name) {
    if (name.starts_with("LC_")) return true;
    for (std::string_view inherited : kInheritedVariables)
        if (name == inherited) return true;
    return false;
}

ChildProcess::ChildProcess(ChildSpec spec) : spec_(std::move(spec)) {
    if (spec_.argv.empty()) throw std::logic_error("ChildProcess: empty argv");

    SpawnSetup setup;
    std::optional<Pipe> input, output;
    Pipe errors;
    Pipe wake;  // the stderr reader polls its read end; closing the write end stops the reader
    if (spec_.input == ChildSpec::Input::pipe) {
        input.emplace();
        posix_spawn_file_actions_adddup2(&setup.actions, input->read, STDIN_FILENO);
    } else {
        posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    switch (spec_.output) {
        case ChildSpec::Output::pipe:
            output.emplace();
            posix_spawn_file_actions_adddup2(&setup.actions, output->write, STDOUT_FILENO);
            break;
        case ChildSpec::Output::parent_stderr:
            posix_spawn_file_actions_adddup2(&setup.actions, STDERR_FILENO, STDOUT_FILENO);
            break;
        case ChildSpec::Output::null:
            posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
            break;
    }
    posix_spawn_file_actions_adddup2(&setup.actions, errors.write, STDERR_FILENO);
    if (spec_.working_dir) posix_spawn_file_actions_addchdir_np(&setup.actions, spec_.working_dir->c_str());

    // The host blocks SIGINT/SIGTERM in its threads to handle them in one place, and a blocked or ignored signal
    // survives exec: without this the child could not be stopped with SIGTERM.
    sigset_t no_signals, all_signals;
    sigemptyset(&no_signals);
    sigfillset(&all_signals);
    sigdelset(&all_signals, SIGKILL);
    sigdelset(&all_signals, SIGSTOP);
    posix_spawnattr_setsigmask(&setup.attributes, &no_signals);
    posix_spawnattr_setsigdefault(&setup.attributes, &all_signals);
    posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv;
    for (std::string& arg : spec_.argv) argv.push_back(arg.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_storage;
    for (char** entry = environ; *entry; ++entry) {
        std::string_view var(*entry);
        std::string_view name = var.substr(0, var.find('='));
        if (name.size() == var.size() || !is_inherited_variable(name)) continue;
        bool replaced = false;
        for (const auto& [set_name, value] : spec_.env) replaced = replaced || set_name == name;
        if (!replaced) env_storage.emplace_back(var);
    }
    for (const auto& [name, value] : spec_.env) env_storage.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (std::string& entry : env_storage) envp.push_back(entry.data());
    envp.push_back(nullptr);

    int rc = posix_spawnp(&pid_, argv[0], &setup.actions, &setup.attributes, argv.data(), envp.data());
    if (rc != 0) {
        pid_ = -1;
        throw Error(Status::fatal, "cannot start command '" + program() + "': " + strerror(rc));
    }

    if (input) {
        stdin_fd_ = input->take_write();
        // Non-blocking so that a child that stops reading cannot block us past a cancellation check.
        ::fcntl(stdin_fd_, F_SETFL, ::fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
        // As for stdout below: a restore writes 1 MiB chunks, which a 64 KiB pipe takes in 16 writes and polls.
        ::fcntl(stdin_fd_, F_SETPIPE_SZ, kPipeBytes);
    }
    if (output) {
        stdout_fd_ = output->take_read();
        // A 64 KiB pipe makes a fast producer (pg_dump) block and wake us every 64 KiB; 1 MiB (the unprivileged
        // maximum by default) matches the engine's reads and costs the context switches of a plain redirect only.
        ::fcntl(stdout_fd_, F_SETPIPE_SZ, kPipeBytes);
    }
    wake_write_fd_ = wake.take_write();
    int errors_fd = errors.take_read();
    int wake_fd = wake.take_read();
    // The child's ends (still in `input`, `output`, `errors`) close when this constructor returns.
    stderr_reader_ = std::thread([this, errors_fd, wake_fd] { drain_stderr(errors_fd, wake_fd); });
}

ChildProcess::~ChildProcess() {
    // Kill before closing stdin: EOF on its input could make a restore command commit a partial restore.
    terminate();
    close_fd(stdin_fd_);
    close_fd(stdout_fd_);
    stop_stderr_reader();
}

size_t ChildProcess::read_stdout(std::span<uint8_t> buffer, const CancelCheck& cancelled) {
    if (stdout_fd_ < 0) throw std::logic_error("ChildProcess: stdout is not a pipe");
    while (true) {
        if (cancelled()) throw cancelled_error();
        pollfd p{stdout_fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, kPollIntervalMs);
        if (ready < 0 && errno != EINTR)
            throw Error(Status::fatal, "cannot read output of command '" + program() + "': " + strerror(errno));
        if (ready <= 0) continue;
        // pg_dump writes 4 KiB at a time, and a reader that keeps up is woken for each write: at 300 MB/s that is
        // 75,000 wakeups and twice as many system calls a second, which cost a zstd backup on two cores 8 % of its
        // time and 13 % of its CPU. A read for much more than the pipe holds lets the writer fill it for half a
        // millisecond first: at most 1 MiB / 0.5 ms = 2 GB/s, more than anything downstream takes.
        int available = 0;
        if (buffer.size() >= 4 * kGatherBelow && (p.revents & POLLHUP) == 0 &&
            ::ioctl(stdout_fd_, FIONREAD, &available) == 0 && static_cast<size_t>(available) < kGatherBelow)
            ::usleep(kGatherWait);
        ssize_t n = ::read(stdout_fd_, buffer.data(), buffer.size());
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR && errno != EAGAIN)
            throw Error(Status::fatal, "cannot read output of command '" + program() + "': " + strerror(errno));
    }
}

void ChildProcess::write_stdin(std::span<const uint8_t> data, const CancelCheck& cancelled) {
    if (stdin_fd_ < 0) throw std::logic_error("ChildProcess: stdin is not a pipe or already closed");
    SigpipeBlocked sigpipe_blocked;
    while (!data.empty()) {
        if (cancelled()) throw cancelled_error();
        ssize_t n = ::write(stdin_fd_, data.data(), data.size());
        if (n >= 0) {
            data = data.subspan(static_cast<size_t>(n));
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            pollfd p{stdin_fd_, POLLOUT, 0};
            ::poll(&p, 1, kPollIntervalMs);
            continue;
        }
        if (errno == EPIPE) {
            // The child closed its input, most likely because it failed: its exit status says more than EPIPE.
            close_stdin();
            wait_successfully(cancelled);
            throw Error(Status::fatal, "command '" + program() + "' exited before reading all of its input");
        }
        throw Error(Status::fatal, "cannot write to command '" + program() + "': " + strerror(errno));
    }
}

void ChildProcess::close_stdin() { close_fd(stdin_fd_); }

bool ChildProcess::try_reap(int options) {
    if (exit_) return true;
    int status = 0;
    pid_t reaped;
    do {
        reaped = ::waitpid(pid_, &status, options);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == 0) return false;
    ExitStatus result;
    if (reaped < 0) {
        // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN); its status is lost.
        result.exited = true;
        result.code = -1;
    } else if (WIFEXITED(status)) {
        result.exited = true;
        result.code = WEXITSTATUS(status);
    } else {
        result.signal = WTERMSIG(status);
    }
    exit_ = result;
    return true;
}

ExitStatus ChildProcess::wait(const CancelCheck& cancelled) {
    auto pause = std::chrono::milliseconds(1);
    while (!try_reap(WNOHANG)) {
        if (cancelled()) throw cancelled_error();
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
    // Let the reader collect the child's last words before anyone asks for the tail.
    std::unique_lock lock(stderr_mutex_);
    stderr_eof_changed_.wait_for(lock, kStderrLinger, [this] { return stderr_eof_; });
    return *exit_;
}

void ChildProcess::wait_successfully(const CancelCheck& cancelled) {
    ExitStatus status = wait(cancelled);
    if (!status.success()) throw Error(Status::fatal, describe(status));
}

void ChildProcess::terminate(std::chrono::milliseconds grace) noexcept {
    if (pid_ < 0 || try_reap(WNOHANG)) return;
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
        if (try_reap(WNOHANG)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    try_reap(0);
}

void ChildProcess::drain_stderr(int fd, int wake_fd) {
    char chunk[4096];
    while (true) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) break;  // the owner is shutting down
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::vector<std::string> lines;
        {
            std::lock_guard lock(stderr_mutex_);
            stderr_tail_.append(chunk, static_cast<size_t>(n));
            if (stderr_tail_.size() > kStderrTailBytes) stderr_tail_.erase(0, stderr_tail_.size() - kStderrTailBytes);
            if (spec_.on_stderr_line) {
                stderr_partial_.append(chunk, static_cast<size_t>(n));
                size_t newline;
                while ((newline = stderr_partial_.find('\n')) != std::string::npos) {
                    lines.push_back(stderr_partial_.substr(0, newline));
                    stderr_partial_.erase(0, newline + 1);
                }
                // A line longer than the tail is passed on in pieces rather than buffered without bound.
                if (stderr_partial_.size() > kStderrTailBytes) lines.push_back(std::exchange(stderr_partial_, {}));
            }
        }
        for (const std::string& line : lines) spec_.on_stderr_line(line);
    }
    std::string rest;
    {
        std::lock_guard lock(stderr_mutex_);
        rest = std::exchange(stderr_partial_, {});
        stderr_eof_ = true;
    }
    stderr_eof_changed_.notify_all();
    if (!rest.empty() && spec_.on_stderr_line) spec_.on_stderr_line(rest);
    ::close(fd);
    ::close(wake_fd);
}

void ChildProcess::stop_stderr_reader() noexcept {
    close_fd(wake_write_fd_);
    if (stderr_reader_.joinable()) stderr_reader_.join();
}

std::string ChildProcess::stderr_tail() const {
    std::string text;
    {
        std::lock_guard lock(stderr_mutex_);
        text = stderr_tail_;
    }
    std::deque<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        if (!line.empty()) lines.push_back(line);
        if (lines.size() > kStderrTailLines) lines.pop_front();
        start = end + 1;
    }
    std::string joined;
    for (const std::string& line : lines) joined += (joined.empty() ? "" : " | ") + line;
    return joined;
}

std::string ChildProcess::describe(const ExitStatus& status) const {
    std::string text = "command '" + program() + "' ";
    if (status.exited) {
        text += "exited with status " + std::to_string(status.code);
    } else {
        const char* name = sigabbrev_np(status.signal);
        text += "was killed by signal " + std::to_string(status.signal) +
                (name ? " (SIG" + std::string(name) + ")" : std::string());
    }
    std::string tail = stderr_tail();
    return tail.empty() ? text : text + ": " + tail;
}

}  // namespace backhaul
