// secret-file: secret fields from a local file (a JSON object or KEY=VALUE lines) that only its owner may read, the
// rule ssh applies to private keys.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <backhaul/sdk.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "secret_file_format.hpp"

namespace backhaul::secret_file {
namespace {

constexpr const char* kFormats[] = {"auto", "json", "env", nullptr};

constexpr bh_option_spec kOptions[] = {
    {"path", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr,
     "The secret file; it must be a regular file that group and others cannot access (chmod 600)."},
    {"format", BH_OPT_ENUM, 0, "\"auto\"", kFormats,
     "json (an object of fields), env (KEY=VALUE lines), or auto: json if the file starts with '{'."},
};

// Checked by the host before create (and by `backhaul validate`). The file itself is read only by fetch.
constexpr bh_option_limits kLimits[] = {
    {"path", BH_LIMIT_MIN, 1, 0},
};

// A secret file is a few lines; a huge one is a wrong path.
constexpr off_t kMaxFileBytes = 1 << 20;

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
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
        FileDescriptor fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (fd.get() < 0)
            throw Error(Status::fatal, "cannot open secret file '" + path_ + "': " + std::strerror(errno));
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0)
            throw Error(Status::fatal, "cannot stat secret file '" + path_ + "': " + std::strerror(errno));
        if (!S_ISREG(st.st_mode)) throw Error(Status::fatal, "secret file '" + path_ + "' is not a regular file");
        if (st.st_mode & 077)
            throw Error(Status::fatal, "permissions " + octal_mode(st.st_mode) + " for '" + path_ +
                                           "' are too open; chmod 600 '" + path_ + "'");
        if (st.st_uid != ::geteuid() && st.st_uid != 0)
            throw Error(Status::fatal, "secret file '" + path_ + "' is owned by uid " + std::to_string(st.st_uid) +
                                           ", not by this user (uid " + std::to_string(::geteuid()) + ") or root");
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
