// sink-sftp: stores each object as a file below a directory of an SFTP server (OpenSSH or any SFTP version 3 server),
// over libssh2. An upload writes a hidden temp file next to its final name and renames it into place on commit with
// the plain SSH_FXP_RENAME, which never replaces an existing file; an abort removes the temp file.
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <backhaul/sdk.hpp>
#include <cstdlib>
#include <mutex>

#include "remote_key.hpp"
#include "ssh_connection.hpp"

namespace backhaul::sftp {
namespace {

const bh_option_spec kOptions[] = {
    {"host", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "SFTP server: a host name or an IP address."},
    {"port", BH_OPT_INT, 0, "22", nullptr, "TCP port of the SSH server."},
    {"user", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "User to log in as."},
    {"path", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr,
     "Directory on the server that holds the objects; it must exist. Keys become paths below it."},
    {"password", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "Password of `user`; typically \"${secret:...}\" or \"${env:...}\". Tried after a key, if both are set."},
    {"private_key", BH_OPT_STRING, 0, nullptr, nullptr,
     "File holding the private key to log in with (OpenSSH or PEM format); \"~/\" is the home directory."},
    {"private_key_data", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "The private key itself (the file's text), instead of private_key; typically \"${secret:...}\"."},
    {"private_key_passphrase", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "Passphrase of an encrypted private key; typically \"${secret:...}\"."},
    {"known_hosts", BH_OPT_STRING, 0, "\"~/.ssh/known_hosts\"", nullptr,
     "OpenSSH known_hosts file the server's host key must be listed in; an unknown or different key is refused."},
    {"host_key_sha256", BH_OPT_STRING, 0, nullptr, nullptr,
     "Pin the host key instead: its fingerprint as `ssh-keygen -lf` prints it, \"SHA256:...\"; known_hosts is then "
     "not read."},
    {"timeout", BH_OPT_DURATION, 0, "\"30s\"", nullptr,
     "Longest wait for the connection and for any single answer of the server."},
    {"max_retries", BH_OPT_INT, 0, "3", nullptr,
     "Retries of a connection that failed (refused, reset, timed out; not host key or login failures)."},
    {"fsync", BH_OPT_BOOL, 0, "true", nullptr,
     "Flush each object on the server (fsync@openssh.com, where supported) before it is renamed into place."},
};

constexpr uint32_t kMinMax = BH_LIMIT_MIN | BH_LIMIT_MAX;

const bh_option_limits kLimits[] = {
    {"host", BH_LIMIT_MIN, 1, 0},
    {"port", kMinMax, 1, 65535},
    {"user", BH_LIMIT_MIN, 1, 0},
    {"path", BH_LIMIT_MIN, 1, 0},
    {"password", BH_LIMIT_MIN, 1, 0},
    {"private_key", BH_LIMIT_MIN, 1, 0},
    {"private_key_data", BH_LIMIT_MIN, 1, 0},
    {"known_hosts", BH_LIMIT_MIN, 1, 0},
    {"timeout", BH_LIMIT_MIN, 1, 0},
    {"max_retries", kMinMax, 0, 20},
};

std::string home_directory() {
    if (const char* home = std::getenv("HOME"); home && *home) return home;
    if (const passwd* entry = ::getpwuid(::geteuid()); entry && entry->pw_dir) return entry->pw_dir;
    return "/";
}

std::string expand_home(const std::string& path) {
    if (path == "~") return home_directory();
    if (path.starts_with("~/")) return join_path(home_directory(), path.substr(2));
    return path;
}

crypto::SecretString secret_option(const Options& options, std::string_view name) {
    if (!options.has(name)) return {};
    std::string value = options.string(name);
    crypto::SecretString out(value.begin(), value.end());
    crypto::wipe(value);
    return out;
}

Error object_exists(const std::string& key) {
    return Error(Status::fatal, "object '" + key + "' already exists; not overwritten");
}

Error not_found(const std::string& key) { return Error(Status::fatal, "object '" + key + "' not found"); }

// The base directory must exist: it is never created, so a typo fails the run instead of filling another directory.
void require_base(Connection& connection) {
    const Settings& settings = connection.settings();
    std::optional<RemoteStat> base = connection.lstat(settings.path);
    if (!base) throw Error(Status::fatal, "directory '" + settings.path + "' does not exist on " + settings.endpoint());
    if (!base->directory)
        throw Error(Status::fatal, "'" + settings.path + "' on " + settings.endpoint() + " is not a directory");
}

// Removes the last `depth` directories of `key` while they are empty, deepest first.
void remove_empty_directories(Connection& connection, const RemoteKey& key, size_t depth) {
    size_t count = key.directories.size();
    for (size_t removed = 0; removed < depth && count > 0; ++removed, --count)
        if (!connection.rmdir(join_path(connection.settings().path, key.directories, count))) break;
}

class SftpUpload final : public Upload {
  public:
    SftpUpload(ConnectionPool& pool, const Settings& settings, Host host, RemoteKey key)
        : pool_(pool), settings_(settings), host_(host), key_(std::move(key)) {
        connection_ = pool_.take(Connection::Cancellation::honour, settings_.max_retries);
        try {
            start();
        } catch (...) {
            pool_.give_back(std::move(connection_));
            throw;
        }
    }

    ~SftpUpload() override { abort(); }

    void write(std::span<const uint8_t> data) override {
        host_.throw_if_cancelled();
        connection_->write_all(file_, data.data(), data.size(), temp_path_);
    }

    void commit() override {
        if (settings_.fsync && !connection_->fsync(file_, temp_path_))
            host_.debug("the server does not support fsync@openssh.com; '" + temp_path_ + "' is not flushed");
        LIBSSH2_SFTP_HANDLE* file = std::exchange(file_, nullptr);
        connection_->close(file, temp_path_);
        if (!connection_->rename_no_replace(temp_path_, final_path_)) throw object_exists(key_.key);
        done_ = true;
        pool_.give_back(std::move(connection_));
    }

    void abort() noexcept override {
        if (done_) return;
        done_ = true;
        try {
            // Clean-up must happen after a cancelled run too, bounded by `timeout` alone. A session a call was cut
            // off in is unusable: a new one removes the temp file.
            if (connection_ && !connection_->broken()) {
                connection_->set_cancellation(Connection::Cancellation::ignore);
                if (file_) connection_->close_quietly(std::exchange(file_, nullptr));
            }
            if (!connection_ || connection_->broken()) {
                connection_.reset();
                connection_ = Connection::open(settings_, host_, Connection::Cancellation::ignore, 0);
            }
            if (!temp_path_.empty()) connection_->unlink(temp_path_);
            remove_empty_directories(*connection_, key_, created_directories_);
        } catch (const std::exception& e) {
            host_.warn("could not remove the temporary file '" + temp_path_ + "' of '" + key_.key + "' on " +
                       settings_.endpoint() + ": " + e.what() + "; remove it by hand");
        }
        pool_.give_back(std::move(connection_));
    }

  private:
    // Refuses a taken key before any byte is sent and opens the temp file (the key's missing directories made).
    void start() {
        require_base(*connection_);
        create_parents();
        final_path_ = join_path(join_path(settings_.path, key_.directories, key_.directories.size()), key_.file_name);
        // Checked again, atomically, by the rename at commit; failing here saves streaming a whole backup first.
        if (connection_->lstat(final_path_)) {
            remove_empty_directories(*connection_, key_, created_directories_);
            throw object_exists(key_.key);
        }
        temp_path_ = join_path(join_path(settings_.path, key_.directories, key_.directories.size()),
                               temp_file_name(key_.file_name));
        try {
            file_ = connection_->create_exclusive(temp_path_);
        } catch (...) {
            if (!connection_->broken()) remove_empty_directories(*connection_, key_, created_directories_);
            throw;
        }
    }

    // Makes the key's missing directories (mode 0755, less the server's umask), remembering how many trailing ones
    // it made so that an abort removes exactly those. A symbolic link in the way is refused: it could lead anywhere.
    void create_parents() {
        for (size_t i = 0; i < key_.directories.size(); ++i) {
            const std::string path = join_path(settings_.path, key_.directories, i + 1);
            std::optional<RemoteStat> existing = connection_->lstat(path);
            if (!existing) {
                if (connection_->mkdir(path)) {
                    if (created_directories_ == 0) created_directories_ = key_.directories.size() - i;
                    continue;
                }
                existing = connection_->lstat(path);  // made by someone else meanwhile
            }
            if (!existing || !existing->directory) {
                remove_empty_directories(*connection_, key_, created_directories_);
                throw Error(Status::fatal, "key '" + key_.key + "': '" + path + "' on " + settings_.endpoint() +
                                               " is not a directory (symbolic links are not followed)");
            }
        }
    }

    ConnectionPool& pool_;
    const Settings& settings_;
    Host host_;
    RemoteKey key_;
    std::unique_ptr<Connection> connection_;
    LIBSSH2_SFTP_HANDLE* file_ = nullptr;
    std::string final_path_;
    std::string temp_path_;
    size_t created_directories_ = 0;
    bool done_ = false;
};

class SftpReader final : public ObjectReader {
  public:
    SftpReader(ConnectionPool& pool, std::unique_ptr<Connection> connection, LIBSSH2_SFTP_HANDLE* file,
               std::string shown)
        : pool_(pool), connection_(std::move(connection)), file_(file), shown_(std::move(shown)) {}
    ~SftpReader() override {
        connection_->set_cancellation(Connection::Cancellation::ignore);
        connection_->close_quietly(file_);
        pool_.give_back(std::move(connection_));
    }

    size_t read(std::span<uint8_t> buffer) override {
        return connection_->read(file_, buffer.data(), buffer.size(), shown_);
    }

  private:
    ConnectionPool& pool_;
    std::unique_ptr<Connection> connection_;
    LIBSSH2_SFTP_HANDLE* file_;
    std::string shown_;
};

class SftpSink final : public Sink {
  public:
    SftpSink(Host host, const Options& options) : host_(host), pool_(settings_, host) {
        static const int initialised = libssh2_init(0);
        if (initialised != 0) throw Error(Status::fatal, "libssh2_init failed");
        settings_.host = options.string("host");
        settings_.port = static_cast<int>(options.integer("port"));
        settings_.user = options.string("user");
        settings_.path = options.string("path");
        settings_.password = secret_option(options, "password");
        if (options.has("private_key")) settings_.private_key = expand_home(options.string("private_key"));
        settings_.private_key_data = secret_option(options, "private_key_data");
        settings_.private_key_passphrase = secret_option(options, "private_key_passphrase");
        settings_.known_hosts = expand_home(options.string("known_hosts"));
        if (options.has("host_key_sha256")) settings_.host_key_sha256 = options.string("host_key_sha256");
        settings_.timeout = options.duration("timeout");
        settings_.max_retries = static_cast<int>(options.integer("max_retries"));
        settings_.fsync = options.boolean("fsync");
    }

    static void validate(const Options& options, Problems& problems) {
        const bool file = options.has("private_key"), data = options.has("private_key_data");
        if (!options.has("password") && !file && !data)
            problems.add_stage("set password, private_key or private_key_data to log in with");
        if (file && data) problems.add("private_key_data", "set either private_key or private_key_data, not both");
        if (options.has("private_key_passphrase") && !file && !data)
            problems.add("private_key_passphrase", "needs private_key or private_key_data");
        if (options.known("host_key_sha256")) {
            const std::string pin = options.string("host_key_sha256");
            if (!pin.starts_with("SHA256:") || pin.size() < 7 + 43)
                problems.add("host_key_sha256",
                             "must be a fingerprint as ssh-keygen -lf prints it, "
                             "\"SHA256:\" and 43 base64 characters, got \"" +
                                 pin + "\"");
        }
        if (options.known("path") && options.string("path").find('\0') != std::string::npos)
            problems.add("path", "must not contain NUL characters");
    }

    std::unique_ptr<Upload> begin(const std::string& key, const Metadata&) override {
        return std::make_unique<SftpUpload>(pool_, settings_, host_, parse_key(key));
    }

    std::unique_ptr<ObjectReader> open_read(const std::string& key) override {
        RemoteKey object = parse_key(key);
        const std::string path = object_path(object);
        std::unique_ptr<Connection> connection = pool_.take(Connection::Cancellation::honour, settings_.max_retries);
        std::optional<RemoteStat> st = connection->lstat(path);
        if (!st || !st->regular) {
            pool_.give_back(std::move(connection));
            throw not_found(key);
        }
        LIBSSH2_SFTP_HANDLE* file = connection->open_for_reading(path);
        return std::make_unique<SftpReader>(pool_, std::move(connection), file, path);
    }

    void list(const std::string& prefix, const ListSink& emit) override {
        std::vector<ObjectInfo> objects;
        with_connection([&](Connection& connection) {
            require_base(connection);
            walk(connection, settings_.path, "", prefix, objects);
        });
        std::sort(objects.begin(), objects.end(),
                  [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
        for (const ObjectInfo& object : objects)
            if (!emit(object)) return;
    }

    ObjectInfo stat(const std::string& key) override {
        RemoteKey object = parse_key(key);
        std::optional<RemoteStat> st;
        with_connection([&](Connection& connection) { st = connection.lstat(object_path(object)); });
        if (!st || !st->regular) throw not_found(key);
        return ObjectInfo{key, st->size, st->mtime_unix_ms};
    }

    void remove(const std::vector<std::string>& keys) override {
        with_connection([&](Connection& connection) {
            for (const std::string& key : keys) {
                RemoteKey object = parse_key(key);
                connection.unlink(object_path(object));
                // Retention empties whole days and months: do not leave their directories behind.
                remove_empty_directories(connection, object, object.directories.size());
            }
        });
    }

    // What a backup relies on, proved on the server itself with temp-file names that list never shows: the host key
    // is the known one, the login works, the directory exists, and a rename onto an existing name is refused.
    void check(Checks& checks) {
        std::unique_ptr<Connection> connection;
        const std::string login = "log in to " + settings_.endpoint() + " as " + settings_.user;
        try {
            connection = Connection::open(settings_, host_, Connection::Cancellation::honour, 0);
        } catch (const std::exception& e) {
            checks.fail(login, e.what());
            return;
        }
        checks.pass(login, "host key " + connection->host_key_description());
        const std::string name = "directory '" + settings_.path + "'";
        try {
            require_base(*connection);
        } catch (const std::exception& e) {
            checks.fail(name, e.what(), "create it on the server; Backhaul never creates it");
            return;
        }
        checks.pass(name, "exists");
        const std::string commit = "commit without replacing (rename onto an existing name is refused)";
        const std::string first = join_path(settings_.path, temp_file_name("backhaul-check"));
        const std::string second = join_path(settings_.path, temp_file_name("backhaul-check"));
        try {
            for (const std::string& path : {first, second}) connection->close(connection->create_exclusive(path), path);
            bool replaced = connection->rename_no_replace(first, second);
            connection->unlink(first);
            connection->unlink(second);
            if (replaced)
                checks.fail(commit, "the server's SFTP rename replaced an existing file",
                            "use an SFTP server whose rename refuses existing names (OpenSSH's sftp-server does)");
            else
                checks.pass(commit, "SSH_FXP_RENAME refused an existing name");
        } catch (const std::exception& e) {
            checks.fail(commit, e.what(), "let '" + settings_.user + "' create files in " + name);
            try {
                connection->unlink(first);
                connection->unlink(second);
            } catch (...) {
            }
        }
    }

  private:
    std::string object_path(const RemoteKey& key) const {
        return join_path(join_path(settings_.path, key.directories, key.directories.size()), key.file_name);
    }

    // list, stat and remove borrow a connection of the pool for their calls.
    template <class Body>
    void with_connection(Body&& body) {
        std::unique_ptr<Connection> connection = pool_.take(Connection::Cancellation::honour, settings_.max_retries);
        struct GiveBack {
            ConnectionPool& pool;
            std::unique_ptr<Connection>& connection;
            ~GiveBack() { pool.give_back(std::move(connection)); }
        } give_back{pool_, connection};
        body(*connection);
    }

    // Collects regular files below `dir` (whose key prefix is `dir_key`, "" or ending in '/'), skipping temp files
    // and symbolic links, and subtrees that cannot hold a key starting with `prefix`.
    void walk(Connection& connection, const std::string& dir, const std::string& dir_key, const std::string& prefix,
              std::vector<ObjectInfo>& out) {
        for (const DirectoryEntry& entry : connection.list_directory(dir)) {
            host_.throw_if_cancelled();
            const std::string key = dir_key + entry.name;
            if (entry.stat.directory) {
                const std::string sub_key = key + "/";
                if (sub_key.starts_with(prefix) || prefix.starts_with(sub_key))
                    walk(connection, join_path(dir, entry.name), sub_key, prefix, out);
            } else if (entry.stat.regular && !is_temp_file_name(entry.name) && key.starts_with(prefix)) {
                out.push_back(ObjectInfo{key, entry.stat.size, entry.stat.mtime_unix_ms});
            }
        }
    }

    Host host_;
    Settings settings_;
    ConnectionPool pool_;  // after settings_, which its connections refer to
};

const PluginInfo kInfo{
    .name = "sink-sftp",
    .version = "0.1.0",
    .description = "Stores backups as files on an SFTP server (libssh2); commits by a rename that never replaces.",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul::sftp

BACKHAUL_PLUGIN(backhaul::sftp::SftpSink, backhaul::sftp::kInfo)
