// One SSH connection with an SFTP channel, over a non-blocking libssh2 session: every call is repeated while libssh2
// says EAGAIN, waiting for the socket in slices of at most 100 ms that check for cancellation, and fails when one call
// makes no progress for `timeout`. So no network operation can hang forever or outlive a cancelled run.
#pragma once

#include <libssh2.h>
#include <libssh2_sftp.h>

#include <backhaul/sdk.hpp>
#include <backhaul/support/crypto/secure_memory.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace backhaul::sftp {

struct Settings {
    std::string host;
    int port = 22;
    std::string user;
    std::string path;  // remote base directory
    crypto::SecretString password;
    std::string private_key;  // file path, "~/" expanded; "" = none
    crypto::SecretString private_key_data;
    crypto::SecretString private_key_passphrase;
    std::string known_hosts;      // file path, "~/" expanded
    std::string host_key_sha256;  // "SHA256:<base64>" pin, "" = check known_hosts
    std::chrono::milliseconds timeout{30'000};
    int max_retries = 3;
    bool fsync = true;

    std::string endpoint() const { return host + ":" + std::to_string(port); }
};

// File attributes of one path; nullopt from Connection::lstat when it does not exist.
struct RemoteStat {
    bool directory = false;
    bool regular = false;
    int64_t size = -1;
    int64_t mtime_unix_ms = 0;
};

struct DirectoryEntry {
    std::string name;
    RemoteStat stat;
};

class Connection {
  public:
    // Whether the calls of this connection stop when the run is cancelled. Clean-up after a failed or cancelled run
    // (removing a temp file) must not: it is bounded by `timeout` alone.
    enum class Cancellation { honour, ignore };

    // Connects, verifies the host key, authenticates and starts SFTP. Connection errors and timeouts are retried
    // (max_retries, exponential backoff); a host key or authentication failure is not.
    static std::unique_ptr<Connection> open(const Settings& settings, Host host, Cancellation cancellation,
                                            int max_retries);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    const Settings& settings() const { return settings_; }
    // A call was cut off (cancelled, timed out, transport error): the session is unusable.
    bool broken() const { return broken_; }
    void set_cancellation(Cancellation cancellation) { cancellation_ = cancellation; }
    // How the host key was verified, for `backhaul check`: "ssh-ed25519 SHA256:... (known_hosts '...')".
    const std::string& host_key_description() const { return host_key_description_; }

    std::optional<RemoteStat> lstat(const std::string& path);
    // Creates a directory; returns false if something already exists under the name.
    bool mkdir(const std::string& path);
    std::vector<DirectoryEntry> list_directory(const std::string& path);
    // Returns false if the file does not exist.
    bool unlink(const std::string& path);
    // Returns false if the directory is not empty or does not exist.
    bool rmdir(const std::string& path);
    // SSH_FXP_RENAME without flags: refused if `to` exists (see README, "Commit"). Returns false if refused because
    // the target exists; throws on other errors.
    bool rename_no_replace(const std::string& from, const std::string& to);

    // Open files.
    LIBSSH2_SFTP_HANDLE* create_exclusive(const std::string& path);
    LIBSSH2_SFTP_HANDLE* open_for_reading(const std::string& path);
    void write_all(LIBSSH2_SFTP_HANDLE* file, const uint8_t* data, size_t size, const std::string& shown);
    size_t read(LIBSSH2_SFTP_HANDLE* file, uint8_t* buffer, size_t capacity, const std::string& shown);
    // fsync@openssh.com; returns false if the server does not support it.
    bool fsync(LIBSSH2_SFTP_HANDLE* file, const std::string& shown);
    void close(LIBSSH2_SFTP_HANDLE* file, const std::string& shown);
    // Closes without waiting for the answer to matter (clean-up paths).
    void close_quietly(LIBSSH2_SFTP_HANDLE* file) noexcept;

  private:
    Connection(const Settings& settings, Host host, Cancellation cancellation);
    void connect_socket();
    void handshake();
    void verify_host_key();
    void authenticate();
    void start_sftp();

    // Repeats `call` while it returns LIBSSH2_ERROR_EAGAIN.
    template <class Call>
    auto retry_again(const std::string& what, Call&& call) -> decltype(call());
    // Repeats `call` while it returns nullptr with the session's last error EAGAIN.
    template <class Call>
    auto retry_again_pointer(const std::string& what, Call&& call) -> decltype(call());
    void wait_socket(const std::string& what, std::chrono::steady_clock::time_point deadline);
    // The SFTP status of the last failed call (LIBSSH2_FX_*), or -1 when the failure was not an SFTP status.
    long sftp_status(int rc) const;
    [[noreturn]] void fail(const std::string& what, int rc);
    std::string session_error() const;

    const Settings& settings_;  // the sink's, which outlives its streams
    Host host_;
    Cancellation cancellation_;
    int socket_ = -1;
    LIBSSH2_SESSION* session_ = nullptr;
    LIBSSH2_SFTP* sftp_ = nullptr;
    bool broken_ = false;
    std::string host_key_description_;
};

// Idle connections of one sink instance, for its next upload, reader or listing: a backup run needs one login, not
// one per call. Each connection is used by one thread at a time (taken out while in use); broken ones are dropped, and
// so are ones idle for more than a minute (the server may have given up on a client that did not answer keepalives).
class ConnectionPool {
  public:
    ConnectionPool(const Settings& settings, Host host) : settings_(settings), host_(host) {}
    std::unique_ptr<Connection> take(Connection::Cancellation cancellation, int max_retries);
    void give_back(std::unique_ptr<Connection> connection) noexcept;

  private:
    const Settings& settings_;
    Host host_;
    std::mutex mutex_;
    struct Idle {
        std::unique_ptr<Connection> connection;
        std::chrono::steady_clock::time_point since;
    };
    std::vector<Idle> idle_;
};

// "SHA256:" and the unpadded base64 of the 32 bytes, as ssh-keygen -l prints it.
std::string sha256_fingerprint(const unsigned char* digest);

}  // namespace backhaul::sftp
