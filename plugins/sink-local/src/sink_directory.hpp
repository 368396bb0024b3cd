// The sink's root directory and safe access below it: keys are resolved one path segment at a time with openat and
// O_NOFOLLOW, so neither `..` nor a symlinked intermediate directory can lead a key outside the root.
#pragma once

#include <string>
#include <vector>

namespace backhaul {

// An open file descriptor, closed on destruction.
class FileDescriptor {
  public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
    FileDescriptor& operator=(FileDescriptor&& other) noexcept;
    ~FileDescriptor();

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() noexcept;

  private:
    int fd_ = -1;
};

// A validated object key split into its directory segments and file name: "2024/05/db.sql.gz" -> {"2024", "05"} and
// "db.sql.gz".
struct ObjectKey {
    std::string key;
    std::vector<std::string> directories;
    std::string file_name;
};

// Throws Error(fatal) "key '<key>' escapes the sink directory" for absolute keys, empty, "." or ".." segments, and
// "key '<key>' is reserved for temporary upload files" for a file name that looks like one of our temp files.
ObjectKey parse_key(const std::string& key);

// Whether `file_name` is one of the temporary files an upload writes before commit.
bool is_temp_file_name(const std::string& file_name);
std::string temp_file_name(const std::string& final_name);

class SinkDirectory {
  public:
    explicit SinkDirectory(std::string path) : path_(std::move(path)) {}
    const std::string& path() const { return path_; }

    // Opens the root. Throws "directory '<path>' does not exist" if it is missing.
    FileDescriptor open_root() const;

    // Opens the directory holding `key`'s file. With `create`, makes missing directories (mode 0755, less the umask)
    // and returns in `created` how many trailing segments it made, so that an abort can remove exactly those. Without
    // `create`, a missing directory returns an invalid descriptor.
    FileDescriptor open_parent(const FileDescriptor& root, const ObjectKey& key, bool create, size_t* created) const;

    // Removes the last `depth` directory segments of `key` while they are empty, deepest first.
    void remove_empty_directories(const FileDescriptor& root, const ObjectKey& key, size_t depth) const;

    // "<path>/<segments...>" for messages.
    std::string display(const ObjectKey& key) const { return path_ + "/" + key.key; }

  private:
    std::string path_;
};

}  // namespace backhaul
