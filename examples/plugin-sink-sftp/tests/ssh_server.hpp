// A real OpenSSH server for tests: `sshd -D -e -f <own config>` on 127.0.0.1 and a free port, with its own ed25519 host
// key, an authorized client key pair and a password login, serving a directory in a temporary directory through
// internal-sftp. Header-only.
//
// sshd never runs as root. Run by root, the fixture starts it as `nobody`; otherwise as the calling user. A non-root
// sshd can only log in the user it runs as, and looks its users up with getpwnam() and (for passwords) in /etc/passwd
// when it may not read /etc/shadow: nss_wrapper (Debian libnss-wrapper, LD_PRELOADed into sshd only) gives it a
// passwd file of its own with one user, "backhaul-sftp", whose uid is sshd's and whose password hash is in that file.
// Nothing of the system's user database is touched.
//
// The served directory is local, so the test's independent view of what the server stores is the filesystem:
// files() lists every regular file, temporaries included; read() and place() read and create files.
#pragma once

#include <arpa/inet.h>
#include <crypt.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <backhaul/testkit/process.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sftp_test {

#ifndef SSHD_BINARY
#define SSHD_BINARY "/usr/sbin/sshd"
#endif
#ifndef NSS_WRAPPER_LIBRARY
#define NSS_WRAPPER_LIBRARY "libnss_wrapper.so"
#endif

struct StoredFile {
    std::string name;  // path relative to the directory listed, '/'-separated
    std::string bytes;
};

using backhaul::testkit::read_file;
using backhaul::testkit::write_file;
using ProcessResult = backhaul::testkit::CommandResult;

inline ProcessResult run_process(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& extra_env = {}) {
    backhaul::testkit::CommandOptions options;
    options.env = extra_env;
    return backhaul::testkit::run_command(argv, options);
}

inline std::string random_text(size_t length) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::random_device random;
    std::uniform_int_distribution<size_t> pick(0, sizeof alphabet - 2);
    std::string out;
    for (size_t i = 0; i < length; ++i) out += alphabet[pick(random)];
    return out;
}

class SshServer {
  public:
    static constexpr const char* kUser = "backhaul-sftp";

    SshServer() {
        server_uid_ = ::geteuid();
        server_gid_ = ::getegid();
        if (server_uid_ == 0) {
            const passwd* nobody = ::getpwnam("nobody");
            if (!nobody) throw std::runtime_error("SshServer: running as root and there is no user 'nobody'");
            server_uid_ = nobody->pw_uid;
            server_gid_ = nobody->pw_gid;
        }
        if (::access(SSHD_BINARY, X_OK) != 0)
            throw std::runtime_error("SshServer: no " SSHD_BINARY " (install openssh-server)");
        if (std::string(NSS_WRAPPER_LIBRARY).find('/') != std::string::npos && ::access(NSS_WRAPPER_LIBRARY, R_OK) != 0)
            throw std::runtime_error("SshServer: no " NSS_WRAPPER_LIBRARY " (install libnss-wrapper)");
        // /tmp, not TMPDIR, as root: nobody must be able to reach the directory.
        std::string base = server_uid_ != ::geteuid() ? "/tmp" : std::filesystem::temp_directory_path().string();
        std::string pattern = base + "/sink-sftp-test.XXXXXX";
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("SshServer: mkdtemp failed");
        work_ = pattern;
        try {
            setup();
            start();
        } catch (...) {
            stop();
            std::filesystem::remove_all(work_);
            throw;
        }
    }

    ~SshServer() {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(work_, ignored);
    }

    SshServer(const SshServer&) = delete;
    SshServer& operator=(const SshServer&) = delete;

    std::string host() const { return "127.0.0.1"; }
    int port() const { return port_; }
    std::string user() const { return kUser; }
    const std::string& password() const { return password_; }
    // The directory the server serves; the same absolute path over SFTP (no chroot).
    std::filesystem::path served_dir() const { return work_ / "served"; }
    // A directory for the test's own files (pipelines, inputs, locks), not served.
    std::filesystem::path scratch_dir() const { return work_ / "scratch"; }
    std::filesystem::path known_hosts() const { return work_ / "known_hosts"; }
    std::filesystem::path client_key() const { return work_ / "client_key"; }
    const std::string& host_key_fingerprint() const { return fingerprint_; }
    std::string log() const {
        std::lock_guard lock(log_mutex_);
        return log_;
    }

    // A fresh directory below served_dir() for one test, owned by the server's user.
    std::filesystem::path make_area(const std::string& name) {
        std::filesystem::path area = served_dir() / name;
        std::filesystem::remove_all(area);
        std::filesystem::create_directories(area);
        own(area);
        return area;
    }

    // Every regular file below `dir` (temporaries too), sorted by relative path.
    static std::vector<StoredFile> files(const std::filesystem::path& dir) {
        std::vector<StoredFile> out;
        if (!std::filesystem::exists(dir)) return out;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
            if (entry.is_regular_file())
                out.push_back({std::filesystem::relative(entry.path(), dir).generic_string(), read_file(entry.path())});
        std::sort(out.begin(), out.end(), [](const StoredFile& a, const StoredFile& b) { return a.name < b.name; });
        return out;
    }
    static std::vector<std::string> file_names(const std::filesystem::path& dir) {
        std::vector<std::string> names;
        for (const StoredFile& file : files(dir)) names.push_back(file.name);
        return names;
    }
    // Everything below `dir`, directories too ("a/", "a/b.bin").
    static std::vector<std::string> entries(const std::filesystem::path& dir) {
        std::vector<std::string> out;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
            out.push_back(std::filesystem::relative(entry.path(), dir).generic_string() +
                          (entry.is_directory() ? "/" : ""));
        std::sort(out.begin(), out.end());
        return out;
    }
    // Creates `relative` below `dir` (and its directories), owned by the server's user as if uploaded.
    void place(const std::filesystem::path& dir, const std::string& relative, const std::string& bytes) {
        std::filesystem::path path = dir / relative;
        std::filesystem::create_directories(path.parent_path());
        write_file(path, bytes);
        for (std::filesystem::path p = path; p != dir; p = p.parent_path()) own(p);
    }

  private:
    void own(const std::filesystem::path& path) const {
        if (::geteuid() == 0 && ::chown(path.c_str(), server_uid_, server_gid_) != 0)
            throw std::runtime_error("SshServer: chown " + path.string());
    }

    static void run_or_throw(const std::vector<std::string>& argv) {
        ProcessResult result = run_process(argv);
        if (result.exit_code != 0) throw std::runtime_error("SshServer: " + argv[0] + " failed: " + result.err);
    }

    void setup() {
        std::filesystem::create_directories(served_dir());
        std::filesystem::create_directories(scratch_dir());
        run_or_throw({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sink-sftp-test-host", "-f",
                      (work_ / "host_key").string()});
        run_or_throw({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sink-sftp-test-client", "-f",
                      client_key().string()});
        std::filesystem::copy_file(work_ / "client_key.pub", work_ / "authorized_keys");
        ProcessResult fp = run_process({"ssh-keygen", "-l", "-E", "sha256", "-f", (work_ / "host_key.pub").string()});
        // "256 SHA256:... comment (ED25519)"
        std::istringstream words(fp.out);
        std::string bits;
        words >> bits >> fingerprint_;
        if (!fingerprint_.starts_with("SHA256:")) throw std::runtime_error("SshServer: ssh-keygen -l: " + fp.out);

        password_ = random_text(24);
        std::string salt = "$6$" + random_text(16) + "$";
        const char* hash = ::crypt(password_.c_str(), salt.c_str());
        if (!hash || hash[0] == '*') throw std::runtime_error("SshServer: crypt failed");
        write_file(work_ / "passwd", std::string(kUser) + ":" + hash + ":" + std::to_string(server_uid_) + ":" +
                                         std::to_string(server_gid_) + ":sink-sftp test:" + served_dir().string() +
                                         ":/bin/sh\n");
        write_file(work_ / "group", std::string(kUser) + ":x:" + std::to_string(server_gid_) + ":\n");

        // sshd refuses a host key that others can read, and must own it to read it as nobody.
        own(work_);
        own(work_ / "host_key");
        own(served_dir());
        ::chmod(work_.c_str(), 0711);
        ::chmod(scratch_dir().c_str(), 0700);
    }

    // A port that was free a moment ago; sshd failing to bind it (taken meanwhile) is retried with another.
    static int free_port() {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
            throw std::runtime_error("SshServer: cannot find a free port");
        int port = ntohs(address.sin_port);
        ::close(fd);
        return port;
    }

    void write_config() {
        const std::string w = work_.string();
        write_file(work_ / "sshd_config", "ListenAddress 127.0.0.1:" + std::to_string(port_) +
                                              "\n"
                                              "HostKey " +
                                              w +
                                              "/host_key\n"
                                              "PidFile none\n"
                                              "UsePAM no\n"
                                              "StrictModes no\n"
                                              "PermitRootLogin no\n"
                                              "PubkeyAuthentication yes\n"
                                              "AuthorizedKeysFile " +
                                              w +
                                              "/authorized_keys\n"
                                              "PasswordAuthentication yes\n"
                                              "KbdInteractiveAuthentication no\n"
                                              "AllowUsers " +
                                              kUser +
                                              "\n"
                                              "Subsystem sftp internal-sftp\n"
                                              "ForceCommand internal-sftp\n"
                                              "MaxStartups 100\n"
                                              "LogLevel VERBOSE\n");
        write_file(work_ / "known_hosts",
                   "[127.0.0.1]:" + std::to_string(port_) + " " + read_file(work_ / "host_key.pub"));
    }

    void start() {
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port();
            write_config();
            if (spawn()) return;
        }
        throw std::runtime_error("SshServer: sshd did not start: " + log());
    }

    // Starts sshd and waits for "Server listening on 127.0.0.1 port N." (true) or its exit (false).
    bool spawn() {
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("SshServer: pipe2 failed");
        const std::string config = (work_ / "sshd_config").string();
        std::vector<std::string> args = {SSHD_BINARY, "-D", "-e", "-f", config};
        std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LD_PRELOAD=" NSS_WRAPPER_LIBRARY,
                                        "NSS_WRAPPER_PASSWD=" + (work_ / "passwd").string(),
                                        "NSS_WRAPPER_GROUP=" + (work_ / "group").string()};
        std::vector<char*> argv, envp;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (std::string& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        const bool drop = ::geteuid() == 0;
        const uid_t uid = server_uid_;
        const gid_t gid = server_gid_;
        {
            std::lock_guard lock(log_mutex_);
            log_.clear();
            exited_ = false;
        }
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("SshServer: fork failed");
        if (pid_ == 0) {
            // Only async-signal-safe calls until exec.
            ::dup2(pipe_fds[1], 2);
            int null = ::open("/dev/null", O_RDWR);
            ::dup2(null, 0);
            ::dup2(null, 1);
            if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) ::_exit(126);
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
        ::close(pipe_fds[1]);
        log_fd_ = pipe_fds[0];
        stop_reader_ = false;
        reader_ = std::thread([this] { read_log(); });
        std::unique_lock lock(log_mutex_);
        const std::string ready = "Server listening on 127.0.0.1 port " + std::to_string(port_) + ".";
        bool started = log_changed_.wait_for(lock, std::chrono::seconds(20),
                                             [&] { return log_.find(ready) != std::string::npos || exited_; });
        bool listening = started && log_.find(ready) != std::string::npos;
        lock.unlock();
        if (!listening) stop();
        return listening;
    }

    // Collects sshd's stderr (its log) until it exits, or until stop() and no more output.
    void read_log() {
        char buffer[4096];
        while (true) {
            pollfd p{log_fd_, POLLIN, 0};
            int ready = ::poll(&p, 1, 100);
            if (ready == 0) {
                if (stop_reader_) break;
                continue;
            }
            ssize_t n = ready > 0 ? ::read(log_fd_, buffer, sizeof buffer) : 0;
            std::lock_guard lock(log_mutex_);
            if (n <= 0) {
                exited_ = true;
                log_changed_.notify_all();
                break;
            }
            log_.append(buffer, static_cast<size_t>(n));
            log_changed_.notify_all();
        }
    }

    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
        stop_reader_ = true;
        if (reader_.joinable()) reader_.join();
        if (log_fd_ >= 0) ::close(log_fd_);
        log_fd_ = -1;
    }

    std::filesystem::path work_;
    uid_t server_uid_ = 0;
    gid_t server_gid_ = 0;
    int port_ = 0;
    std::string password_;
    std::string fingerprint_;
    pid_t pid_ = -1;
    int log_fd_ = -1;
    std::thread reader_;
    std::atomic<bool> stop_reader_{false};
    mutable std::mutex log_mutex_;
    std::condition_variable log_changed_;
    std::string log_;
    bool exited_ = false;
};

}  // namespace sftp_test
