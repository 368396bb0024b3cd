// sink-local: stores each object as a file under a local directory. An upload writes a hidden temp file next to its
// final name and renames it into place on commit, so a reader never sees a partial object under its key.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <backhaul/sdk.hpp>
#include <backhaul/support/text/human_bytes.hpp>
#include <cstring>

#include "sink_directory.hpp"

namespace backhaul {
namespace {

const bh_option_spec kOptions[] = {
    {"path", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr,
     "Directory that holds the objects; it must exist. Keys become paths below it."},
    {"fsync", BH_OPT_BOOL, 0, "true", nullptr,
     "Flush each object and its directory to disk before the commit returns."},
};

// Checked by the host before create (and by `backhaul validate`). That the directory exists is a run-time fact.
const bh_option_limits kLimits[] = {
    {"path", BH_LIMIT_MIN, 1, 0},
};

std::string system_error(int error) { return std::strerror(error); }

Error object_exists(const std::string& key) {
    return Error(Status::fatal, "object '" + key + "' already exists; not overwritten");
}

int64_t mtime_ms(const struct stat& st) {
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

void write_all(int fd, std::span<const uint8_t> data, const std::string& shown) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error(Status::fatal, "cannot write '" + shown + "': " + system_error(errno));
        data = data.subspan(static_cast<size_t>(n));
    }
}

class LocalUpload final : public Upload {
  public:
    LocalUpload(const SinkDirectory& directory, ObjectKey key, bool sync)
        : directory_(directory), key_(std::move(key)), sync_(sync) {
        root_ = directory_.open_root();
        parent_ = directory_.open_parent(root_, key_, true, &created_directories_);
        struct stat st {};
        // Checked again, atomically, by the rename at commit; failing here saves streaming a whole backup first.
        if (::fstatat(parent_.get(), key_.file_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            directory_.remove_empty_directories(root_, key_, created_directories_);
            throw object_exists(key_.key);
        }
        temp_name_ = temp_file_name(key_.file_name);
        // 0600: backups are sensitive, whatever the umask allows.
        file_ = FileDescriptor(
            ::openat(parent_.get(), temp_name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!file_) {
            int error = errno;
            directory_.remove_empty_directories(root_, key_, created_directories_);
            throw Error(Status::fatal, "cannot create '" + temp_path() + "': " + system_error(error));
        }
    }

    ~LocalUpload() override { abort(); }

    void write(std::span<const uint8_t> data) override { write_all(file_.get(), data, temp_path()); }

    void commit() override {
        if (sync_ && ::fsync(file_.get()) != 0)
            throw Error(Status::fatal, "cannot flush '" + temp_path() + "': " + system_error(errno));
        if (::close(file_.release()) != 0)
            throw Error(Status::fatal, "cannot write '" + temp_path() + "': " + system_error(errno));
        publish();
        done_ = true;
        if (sync_ && ::fsync(parent_.get()) != 0) {
            int error = errno;
            // The run fails, so its object must not stay visible.
            ::unlinkat(parent_.get(), key_.file_name.c_str(), 0);
            throw Error(Status::fatal,
                        "cannot flush directory of '" + directory_.display(key_) + "': " + system_error(error));
        }
    }

    void abort() noexcept override {
        if (done_) return;
        done_ = true;
        file_ = FileDescriptor();
        ::unlinkat(parent_.get(), temp_name_.c_str(), 0);
        directory_.remove_empty_directories(root_, key_, created_directories_);
    }

  private:
    // Renames the temp file onto the key without ever replacing an existing object.
    void publish() {
        const char* temp = temp_name_.c_str();
        const char* final_name = key_.file_name.c_str();
        if (::renameat2(parent_.get(), temp, parent_.get(), final_name, RENAME_NOREPLACE) == 0) return;
        int error = errno;
        if (error == EINVAL || error == ENOSYS) {
            // Filesystems without RENAME_NOREPLACE: link() refuses an existing target just as atomically.
            if (::linkat(parent_.get(), temp, parent_.get(), final_name, 0) == 0) {
                ::unlinkat(parent_.get(), temp, 0);
                return;
            }
            error = errno;
        }
        if (error == EEXIST) throw object_exists(key_.key);
        throw Error(Status::fatal, "cannot rename '" + temp_path() + "' to '" + directory_.display(key_) +
                                       "': " + system_error(error));
    }

    std::string temp_path() const {
        std::string dir = directory_.path();
        for (const std::string& segment : key_.directories) dir += "/" + segment;
        return dir + "/" + temp_name_;
    }

    const SinkDirectory& directory_;
    ObjectKey key_;
    bool sync_;
    FileDescriptor root_;
    FileDescriptor parent_;
    FileDescriptor file_;
    size_t created_directories_ = 0;
    std::string temp_name_;
    bool done_ = false;
};

class LocalReader final : public ObjectReader {
  public:
    LocalReader(FileDescriptor file, std::string shown) : file_(std::move(file)), shown_(std::move(shown)) {}

    size_t read(std::span<uint8_t> buffer) override {
        while (true) {
            ssize_t n = ::read(file_.get(), buffer.data(), buffer.size());
            if (n >= 0) return static_cast<size_t>(n);
            if (errno != EINTR) throw Error(Status::fatal, "cannot read '" + shown_ + "': " + system_error(errno));
        }
    }

  private:
    FileDescriptor file_;
    std::string shown_;
};

class LocalSink final : public Sink {
  public:
    LocalSink(Host, const Options& options) : directory_(options.string("path")), sync_(options.boolean("fsync")) {}

    // The metadata is not stored: a local file has nowhere to keep it that every tool would preserve.
    std::unique_ptr<Upload> begin(const std::string& key, const Metadata&) override {
        return std::make_unique<LocalUpload>(directory_, parse_key(key), sync_);
    }

    std::unique_ptr<ObjectReader> open_read(const std::string& key) override {
        ObjectKey object = parse_key(key);
        FileDescriptor root = directory_.open_root();
        FileDescriptor parent = directory_.open_parent(root, object, false, nullptr);
        if (!parent) throw not_found(key);
        FileDescriptor file(::openat(parent.get(), object.file_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!file && (errno == ENOENT || errno == ELOOP)) throw not_found(key);
        if (!file)
            throw Error(Status::fatal, "cannot open '" + directory_.display(object) + "': " + system_error(errno));
        struct stat st {};
        if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) throw not_found(key);
        return std::make_unique<LocalReader>(std::move(file), directory_.display(object));
    }

    void list(const std::string& prefix, const ListSink& emit) override {
        FileDescriptor root = directory_.open_root();
        std::vector<ObjectInfo> objects;
        walk(std::move(root), "", prefix, objects);
        std::sort(objects.begin(), objects.end(),
                  [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
        for (const ObjectInfo& object : objects)
            if (!emit(object)) return;
    }

    ObjectInfo stat(const std::string& key) override {
        ObjectKey object = parse_key(key);
        FileDescriptor root = directory_.open_root();
        FileDescriptor parent = directory_.open_parent(root, object, false, nullptr);
        struct stat st {};
        if (!parent || ::fstatat(parent.get(), object.file_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            throw not_found(key);
        return ObjectInfo{key, static_cast<int64_t>(st.st_size), mtime_ms(st)};
    }

    void remove(const std::vector<std::string>& keys) override {
        FileDescriptor root = directory_.open_root();
        for (const std::string& key : keys) {
            ObjectKey object = parse_key(key);
            FileDescriptor parent = directory_.open_parent(root, object, false, nullptr);
            if (!parent) continue;
            if (::unlinkat(parent.get(), object.file_name.c_str(), 0) != 0 && errno != ENOENT)
                throw Error(Status::fatal,
                            "cannot remove '" + directory_.display(object) + "': " + system_error(errno));
            // Retention empties whole days and months: do not leave their directories behind.
            directory_.remove_empty_directories(root, object, object.directories.size());
        }
    }

    // What a commit relies on, proved in the directory itself with temp-file names that list never shows: the
    // directory exists, this user may create files in it, and a rename into place never replaces an existing name.
    void check(Checks& checks) {
        const std::string& path = directory_.path();
        const std::string name = "directory '" + path + "'";
        FileDescriptor root;
        try {
            root = directory_.open_root();
        } catch (const Error& e) {
            checks.fail(name, e.what(),
                        "create it (mkdir -p '" + path + "') or mount the backup disk; Backhaul never creates it");
            return;
        }
        struct statvfs fs {};
        std::string space;
        if (::fstatvfs(root.get(), &fs) == 0)
            space = ", " + human_bytes(static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize) + " free of " +
                    human_bytes(static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize);
        checks.pass(name, "exists" + space);

        const std::string first = temp_file_name("backhaul-check"), second = temp_file_name("backhaul-check");
        auto create = [&](const std::string& file) {
            FileDescriptor fd(
                ::openat(root.get(), file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
            return fd ? 0 : errno;
        };
        if (int error = create(first)) {
            checks.fail("create a file in " + name, system_error(error),
                        error == EROFS ? "mount the filesystem read-write"
                                       : "let the user running backhaul (uid " + std::to_string(::geteuid()) +
                                             ") write there (chown or chmod)");
            return;
        }
        struct Cleanup {
            int dir;
            std::string a, b;
            ~Cleanup() {
                ::unlinkat(dir, a.c_str(), 0);
                ::unlinkat(dir, b.c_str(), 0);
            }
        } cleanup{root.get(), first, second};
        checks.pass("create a file in " + name);

        // Onto an existing name the commit must fail; onto a free one it must succeed.
        const std::string commit = "commit without replacing (rename onto an existing name is refused)";
        if (int error = create(second)) {
            checks.fail(commit, "cannot create a second file: " + system_error(error), "");
            return;
        }
        const char* how = "renameat2(RENAME_NOREPLACE)";
        int refused = 0;
        if (::renameat2(root.get(), first.c_str(), root.get(), second.c_str(), RENAME_NOREPLACE) != 0) refused = errno;
        if (refused == EINVAL || refused == ENOSYS) {
            how = "link(2), as this filesystem has no RENAME_NOREPLACE";
            refused = ::linkat(root.get(), first.c_str(), root.get(), second.c_str(), 0) == 0 ? 0 : errno;
        }
        if (refused != EEXIST) {
            checks.fail(commit,
                        refused == 0 ? std::string(how) + " replaced an existing file"
                                     : std::string(how) + " failed: " + system_error(refused),
                        "put the backups on a local filesystem that supports hard links or RENAME_NOREPLACE "
                        "(ext4, xfs, btrfs, tmpfs)");
            return;
        }
        ::unlinkat(root.get(), second.c_str(), 0);
        int moved =
            ::renameat2(root.get(), first.c_str(), root.get(), second.c_str(), RENAME_NOREPLACE) == 0 ? 0 : errno;
        if (moved == EINVAL || moved == ENOSYS)
            moved = ::linkat(root.get(), first.c_str(), root.get(), second.c_str(), 0) == 0 ? 0 : errno;
        if (moved != 0) {
            checks.fail(commit, std::string(how) + " onto a free name failed: " + system_error(moved),
                        "put the backups on a local filesystem that supports hard links or RENAME_NOREPLACE");
            return;
        }
        checks.pass(commit, std::string("by ") + how);
    }

  private:
    static Error not_found(const std::string& key) { return Error(Status::fatal, "object '" + key + "' not found"); }

    // Collects regular files below `dir` (whose key prefix is `dir_key`, "" or ending in '/'), skipping temp files
    // and symlinks, and skipping subtrees that cannot contain a key starting with `prefix`.
    void walk(FileDescriptor dir, const std::string& dir_key, const std::string& prefix,
              std::vector<ObjectInfo>& out) const {
        DIR* stream = ::fdopendir(dir.get());
        if (!stream)
            throw Error(Status::fatal,
                        "cannot list '" + directory_.path() + "/" + dir_key + "': " + system_error(errno));
        int fd = dir.release();  // owned by `stream` now
        std::unique_ptr<DIR, int (*)(DIR*)> closer(stream, &::closedir);
        while (dirent* entry = ::readdir(stream)) {
            std::string name = entry->d_name;
            if (name == "." || name == "..") continue;
            std::string key = dir_key + name;
            struct stat st {};
            if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // removed meanwhile
            if (S_ISDIR(st.st_mode)) {
                std::string sub_key = key + "/";
                if (!sub_key.starts_with(prefix) && !prefix.starts_with(sub_key)) continue;
                FileDescriptor sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (sub) walk(std::move(sub), sub_key, prefix, out);
            } else if (S_ISREG(st.st_mode) && !is_temp_file_name(name) && key.starts_with(prefix)) {
                out.push_back(ObjectInfo{key, static_cast<int64_t>(st.st_size), mtime_ms(st)});
            }
        }
    }

    SinkDirectory directory_;
    bool sync_;
};

const PluginInfo kInfo{
    .name = "sink-local",
    .version = "0.1.0",
    .description = "Stores backups as files in a local directory; commits by atomic rename.",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::LocalSink, backhaul::kInfo)
