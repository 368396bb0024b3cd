// secret-file: secret fields from a local file (a JSON object or KEY=VALUE lines) that others may not read: the rule
// ssh applies to private keys, with PostgreSQL's allowance for a root-owned file shared with a group, which is what a
// Kubernetes Secret volume is (secret_file_access.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <backhaul/sdk.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "secret_file_access.hpp"
#include "secret_file_format.hpp"

namespace backhaul::secret_file {
namespace {

constexpr const char* kFormats[] = {"auto", "json", "env", nullptr};

constexpr bh_option_spec kOptions[] = {
    {"path", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr,
     "The secret file: a regular file others cannot read, owned by this user (chmod 600) or by root (at most 0640: "
     "a group may read it, as in a Kubernetes Secret volume)."},
    {"format", BH_OPT_ENUM, 0, "\"auto\"", kFormats,
     "json (an object of fields), env (KEY=VALUE lines), or auto: json if the file starts with '{'."},
};

// Checked by the host before create (and by `backhaul validate`). The file itself is read only by fetch.
constexpr bh_option_limits kLimits[] = {
    {"path", BH_LIMIT_MIN, 1, 0},
};

// A secret file is a few lines; a huge one is a wrong path.
constexpr off_t kMaxFileBytes = 1 << 20;

// The file an open descriptor refers to, for messages about a path that is a symlink; empty when it is none.
std::string link_target(const std::string& path, int fd) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return "";
    char target[4096];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target);
    return n > 0 && static_cast<size_t>(n) < sizeof target ? std::string(target, static_cast<size_t>(n)) : "";
}

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

class FileSecret : public SecretProvider {
  public:
    FileSecret(Host host, const Options& options) : host_(host), path_(options.string("path")) {
        std::string format = options.string("format");
        format_ = format == "json" ? Format::json : format == "env" ? Format::key_value : Format::automatic;
    }

    void fetch(const FieldSink& emit) override {
        crypto::SecretString content = read_checked();
        std::vector<Field> fields;
        try {
            fields = parse_secret_file(content, format_);
        } catch (const std::runtime_error& e) {
            throw Error(Status::fatal, "secret file '" + path_ + "' " + e.what());
        }
        for (const Field& field : fields) emit(field.name, std::string_view(field.value.data(), field.value.size()));
        host_.debug("read " + std::to_string(fields.size()) + " field(s) from '" + path_ + "'");
    }

  private:
    crypto::SecretString read_checked() const {
        const bool secret_volume = in_secret_volume(path_);
        // O_NONBLOCK: a FIFO at the path must not hang the run in open(); it is refused below like any non-file.
        // Symlinks are followed (a Secret volume is made of them); every check is on the file actually opened.
        FileDescriptor fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
        if (fd.get() < 0) {
            int error = errno;
            throw Error(Status::fatal, "cannot open secret file '" + path_ + "': " + std::strerror(error) +
                                           open_failure_hint(error, secret_volume));
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0)
            throw Error(Status::fatal, "cannot stat secret file '" + path_ + "': " + std::strerror(errno));
        OpenedFile opened{.path = path_,
                          .target = link_target(path_, fd.get()),
                          .mode = st.st_mode,
                          .owner = st.st_uid,
                          .reader = ::geteuid(),
                          .secret_volume = secret_volume};
        if (std::string problem = access_problem(opened); !problem.empty()) throw Error(Status::fatal, problem);
        if (st.st_size > kMaxFileBytes)
            throw Error(Status::fatal, "secret file '" + path_ + "' is larger than 1 MiB; is it the right file?");

        crypto::SecretString content;
        content.reserve(static_cast<size_t>(st.st_size) + 1);  // no regrowth: no unwiped copies
        char buffer[4096];
        for (;;) {
            ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                OPENSSL_cleanse(buffer, sizeof buffer);
                throw Error(Status::fatal, "cannot read secret file '" + path_ + "': " + std::strerror(errno));
            }
            if (n == 0) break;
            if (content.size() + static_cast<size_t>(n) > static_cast<size_t>(kMaxFileBytes)) {
                OPENSSL_cleanse(buffer, sizeof buffer);
                throw Error(Status::fatal, "secret file '" + path_ + "' is larger than 1 MiB; is it the right file?");
            }
            content.append(buffer, static_cast<size_t>(n));
        }
        OPENSSL_cleanse(buffer, sizeof buffer);
        return content;
    }

    Host host_;
    std::string path_;
    Format format_ = Format::automatic;
};

constexpr PluginInfo kInfo{
    .name = "secret-file",
    .version = "0.1.0",
    .description = "Secret fields from an owner-only JSON or KEY=VALUE file",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul::secret_file

BACKHAUL_PLUGIN(backhaul::secret_file::FileSecret, backhaul::secret_file::kInfo);
