#include "age_keygen.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "recipients.hpp"

namespace backhaul::age {

AgeKeyPair generate_age_keypair() {
    Key32 private_key;
    random_bytes(private_key);
    X25519Identity identity = identity_from_private_key(private_key);
    return AgeKeyPair{format_identity(identity), format_recipient(X25519Recipient{identity.public_key})};
}

std::string format_identity_file(const AgeKeyPair& keys) {
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char created[32];
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string("# created: ") + created + "\n# public key: " + keys.recipient + "\n" + keys.identity + "\n";
}

void write_identity_file(const std::string& path, const AgeKeyPair& keys) {
    // O_EXCL: never replace an existing key, which would lose access to every backup encrypted to it.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create identity file '" + path + "': " + std::strerror(errno));
    std::string text = format_identity_file(keys);
    size_t written = 0;
    while (written < text.size()) {
        ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string reason = std::strerror(errno);
            ::close(fd);
            ::unlink(path.c_str());
            throw std::runtime_error("cannot write identity file '" + path + "': " + reason);
        }
        written += static_cast<size_t>(n);
    }
    bool synced = ::fsync(fd) == 0;
    int sync_errno = errno;
    bool closed = ::close(fd) == 0;
    if (!synced || !closed) {
        std::string reason = std::strerror(synced ? errno : sync_errno);
        ::unlink(path.c_str());
        throw std::runtime_error("cannot write identity file '" + path + "': " + reason);
    }
}

}  // namespace backhaul::age
