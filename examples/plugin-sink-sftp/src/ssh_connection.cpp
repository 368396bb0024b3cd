#include "ssh_connection.hpp"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <backhaul/support/crypto/encoding.hpp>
#include <backhaul/support/http/retry_policy.hpp>
#include <cstring>
#include <fstream>
#include <span>

namespace backhaul::sftp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPollSlice{100};

// A failure worth another connection attempt: refused or reset connections, timeouts, a handshake cut short.
struct TransientError : Error {
    using Error::Error;
};

std::string system_error(int error) { return std::strerror(error); }

const char* key_type_name(int type) {
    switch (type) {
        case LIBSSH2_HOSTKEY_TYPE_RSA:
            return "ssh-rsa";
        case LIBSSH2_HOSTKEY_TYPE_DSS:
            return "ssh-dss";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
            return "ecdsa-sha2-nistp256";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
            return "ecdsa-sha2-nistp384";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
            return "ecdsa-sha2-nistp521";
        case LIBSSH2_HOSTKEY_TYPE_ED25519:
            return "ssh-ed25519";
        default:
            return "unknown";
    }
}

int known_host_key_bits(int type) {
    switch (type) {
        case LIBSSH2_HOSTKEY_TYPE_RSA:
            return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
        case LIBSSH2_HOSTKEY_TYPE_DSS:
            return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
            return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
            return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
            return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
        case LIBSSH2_HOSTKEY_TYPE_ED25519:
            return LIBSSH2_KNOWNHOST_KEY_ED25519;
        default:
            return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

RemoteStat to_stat(const LIBSSH2_SFTP_ATTRIBUTES& attrs) {
    RemoteStat out;
    if (attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) {
        out.directory = LIBSSH2_SFTP_S_ISDIR(attrs.permissions);
        out.regular = LIBSSH2_SFTP_S_ISREG(attrs.permissions);
    }
    if (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) out.size = static_cast<int64_t>(attrs.filesize);
    if (attrs.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) out.mtime_unix_ms = static_cast<int64_t>(attrs.mtime) * 1000;
    return out;
}

const char* sftp_status_text(unsigned long status) {
    switch (status) {
        case LIBSSH2_FX_EOF:
            return "end of file";
        case LIBSSH2_FX_NO_SUCH_FILE:
            return "no such file";
        case LIBSSH2_FX_PERMISSION_DENIED:
            return "permission denied";
        case LIBSSH2_FX_FAILURE:
            return "failure";
        case LIBSSH2_FX_BAD_MESSAGE:
            return "bad message";
        case LIBSSH2_FX_NO_CONNECTION:
            return "no connection";
        case LIBSSH2_FX_CONNECTION_LOST:
            return "connection lost";
        case LIBSSH2_FX_OP_UNSUPPORTED:
            return "operation not supported by the server";
        case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
            return "no space left on the server's filesystem";
        case LIBSSH2_FX_QUOTA_EXCEEDED:
            return "quota exceeded";
        case LIBSSH2_FX_FILE_ALREADY_EXISTS:
            return "file already exists";
        case LIBSSH2_FX_WRITE_PROTECT:
            return "write protected";
        case LIBSSH2_FX_NOT_A_DIRECTORY:
            return "not a directory";
        case LIBSSH2_FX_DIR_NOT_EMPTY:
            return "directory not empty";
        default:
            return "SFTP error";
    }
}

}  // namespace

std::string sha256_fingerprint(const unsigned char* digest) {
    std::string text = crypto::base64(std::span<const uint8_t>(digest, 32));
    while (!text.empty() && text.back() == '=') text.pop_back();
    return "SHA256:" + text;
}

std::unique_ptr<Connection> Connection::open(const Settings& settings, Host host, Cancellation cancellation,
                                             int max_retries) {
    std::unique_ptr<Connection> connection;
    std::optional<TransientError> last;
    http::RetryPolicy policy;
    policy.max_retries = max_retries;
    policy.initial_delay = std::chrono::milliseconds(500);
    policy.max_delay = std::chrono::milliseconds(10'000);
    http::RetryOutcome outcome = policy.run(
        [&](int) {
            try {
                std::unique_ptr<Connection> attempt(new Connection(settings, host, cancellation));
                attempt->connect_socket();
                attempt->handshake();
                attempt->verify_host_key();
                attempt->authenticate();
                attempt->start_sftp();
                connection = std::move(attempt);
                return http::Attempt::finished;
            } catch (const TransientError& e) {
                last = e;
                return http::Attempt::retry;
            }
        },
        [&] { return cancellation == Cancellation::honour && host.cancelled(); },
        [&](int retry, std::chrono::milliseconds delay) {
            host.info(std::string(last->what()) + "; retry " + std::to_string(retry) + " of " +
                      std::to_string(max_retries) + " in " + std::to_string(delay.count()) + " ms");
        });
    if (outcome == http::RetryOutcome::cancelled) throw Error(Status::cancelled, "cancelled");
    if (!connection) throw Error(Status::retryable, last->what(), last->detail());
    return connection;
}

std::unique_ptr<Connection> ConnectionPool::take(Connection::Cancellation cancellation, int max_retries) {
    {
        std::lock_guard lock(mutex_);
        while (!idle_.empty()) {
            Idle entry = std::move(idle_.back());
            idle_.pop_back();
            if (Clock::now() - entry.since > std::chrono::minutes(1)) continue;
            std::unique_ptr<Connection> connection = std::move(entry.connection);
            connection->set_cancellation(cancellation);
            return connection;
        }
    }
    return Connection::open(settings_, host_, cancellation, max_retries);
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection) noexcept {
    if (!connection || connection->broken()) return;
    try {
        std::lock_guard lock(mutex_);
        idle_.push_back({std::move(connection), Clock::now()});
    } catch (...) {
    }
}

Connection::Connection(const Settings& settings, Host host, Cancellation cancellation)
    : settings_(settings), host_(host), cancellation_(cancellation) {}

Connection::~Connection() {
    // A healthy session says goodbye, each step bounded by `timeout`; then (or at once when broken) the socket is shut
    // down so that whatever libssh2 still wants to send while freeing fails at once instead of waiting.
    cancellation_ = Cancellation::ignore;
    try {
        if (sftp_ && !broken_ && retry_again("closing SFTP", [&] { return libssh2_sftp_shutdown(sftp_); }) == 0)
            sftp_ = nullptr;
        if (session_ && !broken_)
            retry_again("disconnecting", [&] { return libssh2_session_disconnect(session_, "done"); });
    } catch (...) {
    }
    if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
    if (session_) {
        libssh2_session_set_blocking(session_, 1);
        if (sftp_) libssh2_sftp_shutdown(sftp_);
        libssh2_session_free(session_);
    }
    if (socket_ >= 0) ::close(socket_);
}

void Connection::connect_socket() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(settings_.port);
    // getaddrinfo blocks: the resolver's own timeouts (resolv.conf) bound it.
    if (int rc = ::getaddrinfo(settings_.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        std::string message = "cannot resolve SFTP host '" + settings_.host + "': " + gai_strerror(rc);
        if (rc == EAI_AGAIN) throw TransientError(Status::retryable, message);
        throw Error(Status::fatal, message);
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, &::freeaddrinfo);
    std::string failure;
    const Clock::time_point deadline = Clock::now() + settings_.timeout;
    for (addrinfo* address = found; address; address = address->ai_next) {
        int fd =
            ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address->ai_protocol);
        if (fd < 0) {
            failure = system_error(errno);
            continue;
        }
        int error = 0;
        if (::connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
            error = errno;
            if (error == EINPROGRESS) {
                error = ETIMEDOUT;
                while (Clock::now() < deadline) {
                    if (cancellation_ == Cancellation::honour && host_.cancelled()) {
                        ::close(fd);
                        throw Error(Status::cancelled, "cancelled");
                    }
                    pollfd p{fd, POLLOUT, 0};
                    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
                    int ready = ::poll(
                        &p, 1, static_cast<int>(std::clamp(left, std::chrono::milliseconds(1), kPollSlice).count()));
                    if (ready < 0 && errno != EINTR) {
                        error = errno;
                        break;
                    }
                    if (ready > 0) {
                        socklen_t size = sizeof error;
                        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
                        break;
                    }
                }
            }
        }
        if (error == 0) {
            socket_ = fd;
            return;
        }
        ::close(fd);
        failure = system_error(error);
    }
    throw TransientError(Status::retryable, "cannot connect to SFTP server " + settings_.endpoint() + ": " + failure);
}

void Connection::handshake() {
    session_ = libssh2_session_init();
    if (!session_) throw Error(Status::fatal, "cannot create an SSH session (libssh2_session_init failed)");
    libssh2_session_set_blocking(session_, 0);
    int rc;
    try {
        rc = retry_again("SSH handshake with " + settings_.endpoint(),
                         [&] { return libssh2_session_handshake(session_, socket_); });
    } catch (const Error& e) {
        if (e.status() == Status::cancelled) throw;
        throw TransientError(Status::retryable, e.what());
    }
    if (rc != 0) {
        broken_ = true;
        throw TransientError(Status::retryable,
                             "SSH handshake with " + settings_.endpoint() + " failed: " + session_error());
    }
}

void Connection::verify_host_key() {
    size_t length = 0;
    int type = LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
    const char* key = libssh2_session_hostkey(session_, &length, &type);
    const char* digest = libssh2_hostkey_hash(session_, LIBSSH2_HOSTKEY_HASH_SHA256);
    if (!key || !digest) throw Error(Status::fatal, "the SFTP server " + settings_.endpoint() + " sent no host key");
    const std::string fingerprint = sha256_fingerprint(reinterpret_cast<const unsigned char*>(digest));
    const std::string shown = std::string(key_type_name(type)) + " " + fingerprint;

    if (!settings_.host_key_sha256.empty()) {
        std::string pin = settings_.host_key_sha256;
        while (!pin.empty() && pin.back() == '=') pin.pop_back();
        if (pin != fingerprint)
            throw Error(Status::fatal, "host key of " + settings_.endpoint() + " is " + shown +
                                           ", not the pinned host_key_sha256 " + settings_.host_key_sha256 +
                                           "; refusing to connect (the server may be impersonated)");
        host_key_description_ = shown + " (pinned by host_key_sha256)";
        return;
    }

    const std::string& file = settings_.known_hosts;
    const std::string add_hint =
        "; if the fingerprint is right (ssh-keygen -lf on the server's host key), add it: "
        "ssh-keyscan -p " +
        std::to_string(settings_.port) + " " + settings_.host + " >> " + file + ", or pin it with host_key_sha256";
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        throw Error(Status::fatal, "cannot check the host key of " + settings_.endpoint() + " (" + shown +
                                       "): known_hosts file '" + file + "': " + system_error(errno) + add_hint);

    std::unique_ptr<LIBSSH2_KNOWNHOSTS, void (*)(LIBSSH2_KNOWNHOSTS*)> known(libssh2_knownhost_init(session_),
                                                                             &libssh2_knownhost_free);
    if (!known) throw Error(Status::fatal, "cannot allocate the known hosts list");
    // Line by line: libssh2 gives up on a whole file at the first line it cannot parse (a key type it does not know,
    // @cert-authority, ...); such lines are skipped here and cannot match anyway.
    std::ifstream in(file);
    if (!in) throw Error(Status::fatal, "cannot read known_hosts file '" + file + "'");
    std::string line;
    int skipped = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() == '#') continue;
        if (libssh2_knownhost_readline(known.get(), line.c_str(), line.size(), LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
            ++skipped;
    }
    if (skipped) host_.debug("known_hosts '" + file + "': skipped " + std::to_string(skipped) + " unreadable lines");

    libssh2_knownhost* entry = nullptr;
    int check = libssh2_knownhost_checkp(
        known.get(), settings_.host.c_str(), settings_.port, key, length,
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | known_host_key_bits(type), &entry);
    switch (check) {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            host_key_description_ = shown + " (known_hosts '" + file + "')";
            return;
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            throw Error(Status::fatal, "HOST KEY MISMATCH: the host key of " + settings_.endpoint() + " is " + shown +
                                           ", which differs from the one in known_hosts '" + file +
                                           "'; refusing to connect (the server may be impersonated, or its key "
                                           "changed: check with its administrator before editing known_hosts)");
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            throw Error(Status::fatal, "unknown host key: " + settings_.endpoint() + " is not in known_hosts '" + file +
                                           "'; its host key is " + shown +
                                           "; refusing to connect (host keys are never accepted automatically)" +
                                           add_hint);
        default:
            throw Error(Status::fatal, "cannot check the host key of " + settings_.endpoint() + " (" + shown +
                                           ") against known_hosts '" + file + "'");
    }
}

void Connection::authenticate() {
    const std::string& user = settings_.user;
    const auto user_length = static_cast<unsigned int>(user.size());
    std::vector<std::string> tried;
    std::string last_error;
    const char* passphrase =
        settings_.private_key_passphrase.empty() ? nullptr : settings_.private_key_passphrase.c_str();
    if (!settings_.private_key.empty()) {
        tried.push_back("public key '" + settings_.private_key + "'");
        int rc = retry_again("SSH authentication", [&] {
            return libssh2_userauth_publickey_fromfile_ex(session_, user.c_str(), user_length, nullptr,
                                                          settings_.private_key.c_str(), passphrase);
        });
        if (rc == 0) return;
        last_error = session_error();
    } else if (!settings_.private_key_data.empty()) {
        tried.push_back("public key from private_key_data");
        int rc = retry_again("SSH authentication", [&] {
            return libssh2_userauth_publickey_frommemory(session_, user.c_str(), user.size(), nullptr, 0,
                                                         settings_.private_key_data.data(),
                                                         settings_.private_key_data.size(), passphrase);
        });
        if (rc == 0) return;
        last_error = session_error();
    }
    if (!settings_.password.empty()) {
        tried.push_back("password");
        int rc = retry_again("SSH authentication", [&] {
            return libssh2_userauth_password_ex(session_, user.c_str(), user_length, settings_.password.c_str(),
                                                static_cast<unsigned int>(settings_.password.size()), nullptr);
        });
        if (rc == 0) return;
        last_error = session_error();
    }
    std::string methods;
    for (const std::string& method : tried) methods += (methods.empty() ? "" : ", ") + method;
    // libssh2's messages name the method and the key file's problem, never a secret.
    throw Error(Status::fatal, "SSH authentication as '" + user + "' to " + settings_.endpoint() + " failed (tried " +
                                   methods + "): " + last_error);
}

void Connection::start_sftp() {
    sftp_ = retry_again_pointer("starting SFTP", [&] { return libssh2_sftp_init(session_); });
    if (!sftp_)
        throw Error(Status::fatal, "cannot start SFTP on " + settings_.endpoint() +
                                       " (is the sftp subsystem enabled?): " + session_error());
}

template <class Call>
auto Connection::retry_again(const std::string& what, Call&& call) -> decltype(call()) {
    const Clock::time_point deadline = Clock::now() + settings_.timeout;
    while (true) {
        auto rc = call();
        if (rc != LIBSSH2_ERROR_EAGAIN) {
            if (rc < 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL && rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
                rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED && rc != LIBSSH2_ERROR_FILE &&
                rc != LIBSSH2_ERROR_METHOD_NOT_SUPPORTED)
                broken_ = true;
            return rc;
        }
        wait_socket(what, deadline);
    }
}

template <class Call>
auto Connection::retry_again_pointer(const std::string& what, Call&& call) -> decltype(call()) {
    const Clock::time_point deadline = Clock::now() + settings_.timeout;
    while (true) {
        auto result = call();
        if (result) return result;
        int error = libssh2_session_last_errno(session_);
        if (error != LIBSSH2_ERROR_EAGAIN) {
            if (error != LIBSSH2_ERROR_SFTP_PROTOCOL) broken_ = true;
            return result;
        }
        wait_socket(what, deadline);
    }
}

void Connection::wait_socket(const std::string& what, Clock::time_point deadline) {
    if (cancellation_ == Cancellation::honour && host_.cancelled()) {
        broken_ = true;
        throw Error(Status::cancelled, "cancelled");
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
        broken_ = true;
        throw Error(Status::retryable, what + ": no answer from " + settings_.endpoint() + " within " +
                                           std::to_string(settings_.timeout.count()) + " ms (option timeout)");
    }
    const int directions = libssh2_session_block_directions(session_);
    short events = 0;
    if (directions & LIBSSH2_SESSION_BLOCK_INBOUND) events |= POLLIN;
    if (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) events |= POLLOUT;
    if (events == 0) events = POLLIN;
    pollfd p{socket_, events, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    ::poll(&p, 1, static_cast<int>(std::clamp(left, std::chrono::milliseconds(1), kPollSlice).count()));
}

long Connection::sftp_status(int rc) const {
    if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || !sftp_) return -1;
    return static_cast<long>(libssh2_sftp_last_error(sftp_));
}

std::string Connection::session_error() const {
    char* message = nullptr;
    int length = 0;
    libssh2_session_last_error(session_, &message, &length, 0);
    return message && length > 0 ? std::string(message, static_cast<size_t>(length)) : "unknown error";
}

void Connection::fail(const std::string& what, int rc) {
    long status = sftp_status(rc);
    std::string reason = status >= 0 ? sftp_status_text(static_cast<unsigned long>(status)) : session_error();
    Status kind = broken_ ? Status::retryable : Status::fatal;
    throw Error(kind, what + " on " + settings_.endpoint() + ": " + reason);
}

std::optional<RemoteStat> Connection::lstat(const std::string& path) {
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    int rc = retry_again("stat", [&] {
        return libssh2_sftp_stat_ex(sftp_, path.c_str(), static_cast<unsigned int>(path.size()), LIBSSH2_SFTP_LSTAT,
                                    &attrs);
    });
    if (rc == 0) return to_stat(attrs);
    if (sftp_status(rc) == static_cast<long>(LIBSSH2_FX_NO_SUCH_FILE)) return std::nullopt;
    fail("cannot stat '" + path + "'", rc);
}

bool Connection::mkdir(const std::string& path) {
    int rc = retry_again("mkdir", [&] {
        return libssh2_sftp_mkdir_ex(sftp_, path.c_str(), static_cast<unsigned int>(path.size()), 0755);
    });
    if (rc == 0) return true;
    // OpenSSH answers an existing name with a plain failure: look.
    if (sftp_status(rc) >= 0 && lstat(path)) return false;
    fail("cannot create directory '" + path + "'", rc);
}

std::vector<DirectoryEntry> Connection::list_directory(const std::string& path) {
    LIBSSH2_SFTP_HANDLE* dir = retry_again_pointer("opendir", [&] {
        return libssh2_sftp_open_ex(sftp_, path.c_str(), static_cast<unsigned int>(path.size()), 0, 0,
                                    LIBSSH2_SFTP_OPENDIR);
    });
    if (!dir) fail("cannot list '" + path + "'", libssh2_session_last_errno(session_));
    std::vector<DirectoryEntry> entries;
    char name[1024];
    while (true) {
        LIBSSH2_SFTP_ATTRIBUTES attrs{};
        int rc = 0;
        try {
            rc = retry_again("readdir",
                             [&] { return libssh2_sftp_readdir_ex(dir, name, sizeof name, nullptr, 0, &attrs); });
        } catch (...) {
            close_quietly(dir);
            throw;
        }
        if (rc == 0) break;
        if (rc < 0) {
            close_quietly(dir);
            fail("cannot list '" + path + "'", rc);
        }
        std::string entry(name, static_cast<size_t>(rc));
        if (entry == "." || entry == "..") continue;
        entries.push_back({std::move(entry), to_stat(attrs)});
    }
    close(dir, path);
    return entries;
}

bool Connection::unlink(const std::string& path) {
    int rc = retry_again(
        "unlink", [&] { return libssh2_sftp_unlink_ex(sftp_, path.c_str(), static_cast<unsigned int>(path.size())); });
    if (rc == 0) return true;
    if (sftp_status(rc) == static_cast<long>(LIBSSH2_FX_NO_SUCH_FILE)) return false;
    fail("cannot remove '" + path + "'", rc);
}

bool Connection::rmdir(const std::string& path) {
    int rc = retry_again(
        "rmdir", [&] { return libssh2_sftp_rmdir_ex(sftp_, path.c_str(), static_cast<unsigned int>(path.size())); });
    if (rc == 0) return true;
    if (sftp_status(rc) >= 0) return false;  // not empty (OpenSSH: failure), gone, ...
    fail("cannot remove directory '" + path + "'", rc);
}

bool Connection::rename_no_replace(const std::string& from, const std::string& to) {
    // Flags 0: no LIBSSH2_SFTP_RENAME_OVERWRITE. To a version 3 server (OpenSSH) libssh2 sends the plain
    // SSH_FXP_RENAME, which the protocol defines as an error when `to` exists; OpenSSH's sftp-server does link(2) then
    // unlink(2). posix-rename@openssh.com (rename(2)) would replace `to`, so it is never used.
    int rc = retry_again("rename", [&] {
        return libssh2_sftp_rename_ex(sftp_, from.c_str(), static_cast<unsigned int>(from.size()), to.c_str(),
                                      static_cast<unsigned int>(to.size()), 0);
    });
    if (rc == 0) return true;
    if (sftp_status(rc) >= 0 && lstat(to)) return false;
    fail("cannot rename '" + from + "' to '" + to + "'", rc);
}

LIBSSH2_SFTP_HANDLE* Connection::create_exclusive(const std::string& path) {
    // 0600: backups are sensitive, whatever the server's umask allows.
    LIBSSH2_SFTP_HANDLE* file = retry_again_pointer("open", [&] {
        return libssh2_sftp_open_ex(sftp_, path.c_str(), static_cast<unsigned int>(path.size()),
                                    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600,
                                    LIBSSH2_SFTP_OPENFILE);
    });
    if (!file) fail("cannot create '" + path + "'", libssh2_session_last_errno(session_));
    return file;
}

LIBSSH2_SFTP_HANDLE* Connection::open_for_reading(const std::string& path) {
    LIBSSH2_SFTP_HANDLE* file = retry_again_pointer("open", [&] {
        return libssh2_sftp_open_ex(sftp_, path.c_str(), static_cast<unsigned int>(path.size()), LIBSSH2_FXF_READ, 0,
                                    LIBSSH2_SFTP_OPENFILE);
    });
    if (!file) fail("cannot open '" + path + "'", libssh2_session_last_errno(session_));
    return file;
}

void Connection::write_all(LIBSSH2_SFTP_HANDLE* file, const uint8_t* data, size_t size, const std::string& shown) {
    while (size > 0) {
        // The same buffer again after EAGAIN, as libssh2 requires; it returns how much it took.
        ssize_t n =
            retry_again("write", [&] { return libssh2_sftp_write(file, reinterpret_cast<const char*>(data), size); });
        if (n < 0) fail("cannot write '" + shown + "'", static_cast<int>(n));
        data += n;
        size -= static_cast<size_t>(n);
    }
}

size_t Connection::read(LIBSSH2_SFTP_HANDLE* file, uint8_t* buffer, size_t capacity, const std::string& shown) {
    ssize_t n = retry_again("read", [&] { return libssh2_sftp_read(file, reinterpret_cast<char*>(buffer), capacity); });
    if (n < 0) fail("cannot read '" + shown + "'", static_cast<int>(n));
    return static_cast<size_t>(n);
}

bool Connection::fsync(LIBSSH2_SFTP_HANDLE* file, const std::string& shown) {
    int rc = retry_again("fsync", [&] { return libssh2_sftp_fsync(file); });
    if (rc == 0) return true;
    if (sftp_status(rc) == static_cast<long>(LIBSSH2_FX_OP_UNSUPPORTED)) return false;
    fail("cannot flush '" + shown + "' (fsync@openssh.com)", rc);
}

void Connection::close(LIBSSH2_SFTP_HANDLE* file, const std::string& shown) {
    // The server reports deferred write errors (a full disk) when the file is closed.
    int rc = retry_again("close", [&] { return libssh2_sftp_close_handle(file); });
    if (rc != 0) fail("cannot close '" + shown + "'", rc);
}

void Connection::close_quietly(LIBSSH2_SFTP_HANDLE* file) noexcept {
    if (broken_) return;  // the handle dies with the session
    try {
        retry_again("close", [&] { return libssh2_sftp_close_handle(file); });
    } catch (...) {
    }
}

}  // namespace backhaul::sftp
