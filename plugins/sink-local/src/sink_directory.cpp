#include "sink_directory.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <backhaul/sdk.hpp>
#include <cstring>
#include <random>

namespace backhaul {
namespace {

constexpr std::string_view kTempMarker = ".backhaul-tmp-";

std::string system_error(int error) { return std::strerror(error); }

[[noreturn]] void throw_escape(const std::string& key) {
    throw Error(Status::fatal, "key '" + key + "' escapes the sink directory");
}

std::string join(const std::vector<std::string>& segments, size_t count) {
    std::string out;
    for (size_t i = 0; i < count; ++i) out += (i ? "/" : "") + segments[i];
    return out;
}

}  // namespace

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

FileDescriptor::~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
}

int FileDescriptor::release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
}

ObjectKey parse_key(const std::string& key) {
    if (key.empty() || key.front() == '/') throw_escape(key);
    ObjectKey out{key, {}, {}};
    size_t start = 0;
    while (true) {
        size_t slash = key.find('/', start);
        std::string segment = key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        // An empty segment ("a//b", "a/") is rejected with the others: every key maps to exactly one file name.
        if (segment.empty() || segment == "." || segment == "..") throw_escape(key);
        if (slash == std::string::npos) {
            out.file_name = segment;
            break;
        }
        out.directories.push_back(segment);
        start = slash + 1;
    }
    if (is_temp_file_name(out.file_name))
        throw Error(Status::fatal, "key '" + key + "' is reserved for temporary upload files");
    return out;
}

bool is_temp_file_name(const std::string& file_name) {
    return file_name.starts_with('.') && file_name.find(kTempMarker) != std::string::npos;
}

std::string temp_file_name(const std::string& final_name) {
    std::random_device random;
    std::uniform_int_distribution<uint64_t> any;
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(any(random)));
    return "." + final_name + std::string(kTempMarker) + suffix;
}

FileDescriptor SinkDirectory::open_root() const {
    FileDescriptor root(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root) return root;
    int error = errno;
    if (error == ENOENT) throw Error(Status::fatal, "directory '" + path_ + "' does not exist");
    if (error == ENOTDIR) throw Error(Status::fatal, "'" + path_ + "' is not a directory");
    throw Error(Status::fatal, "cannot open directory '" + path_ + "': " + system_error(error));
}

FileDescriptor SinkDirectory::open_parent(const FileDescriptor& root, const ObjectKey& key, bool create,
                                          size_t* created) const {
    if (created) *created = 0;
    FileDescriptor current(::fcntl(root.get(), F_DUPFD_CLOEXEC, 0));
    if (!current) throw Error(Status::fatal, "cannot open directory '" + path_ + "': " + system_error(errno));
    for (size_t i = 0; i < key.directories.size(); ++i) {
        const std::string& segment = key.directories[i];
        std::string shown = path_ + "/" + join(key.directories, i + 1);
        bool made = false;
        if (create && ::mkdirat(current.get(), segment.c_str(), 0755) == 0) {
            made = true;
        } else if (create && errno != EEXIST) {
            throw Error(Status::fatal, "cannot create directory '" + shown + "': " + system_error(errno));
        }
        // O_NOFOLLOW: a symlink planted as an intermediate directory could point anywhere.
        FileDescriptor next(::openat(current.get(), segment.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            int error = errno;
            struct stat st {};
            if (::fstatat(current.get(), segment.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                throw_escape(key.key);
            if (error == ENOENT && !create) return FileDescriptor();
            throw Error(Status::fatal, "cannot open directory '" + shown + "': " + system_error(error));
        }
        if (made && created && *created == 0) *created = key.directories.size() - i;
        current = std::move(next);
    }
    return current;
}

void SinkDirectory::remove_empty_directories(const FileDescriptor& root, const ObjectKey& key, size_t depth) const {
    size_t count = key.directories.size();
    for (size_t removed = 0; removed < depth && count > 0; ++removed, --count) {
        // Fails with ENOTEMPTY as soon as a directory still holds something: that is where we stop.
        if (::unlinkat(root.get(), join(key.directories, count).c_str(), AT_REMOVEDIR) != 0) break;
    }
}

}  // namespace backhaul
