// Message digests over OpenSSL: SHA-256 and MD5, one-shot and incremental, plus HMAC-SHA256. The core hashes stored
// bytes with them (manifests, verify, lock names); plugins reach them as <backhaul/support/crypto/digest.hpp> (S3
// signing, Content-MD5 and ETag checks).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace backhaul::common {

using Sha256Digest = std::array<uint8_t, 32>;
using Md5Digest = std::array<uint8_t, 16>;

inline std::span<const uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

Sha256Digest sha256(std::span<const uint8_t> data);
inline Sha256Digest sha256(std::string_view data) { return sha256(bytes_of(data)); }

Md5Digest md5(std::span<const uint8_t> data);
inline Md5Digest md5(std::string_view data) { return md5(bytes_of(data)); }

Sha256Digest hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);
inline Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
    return hmac_sha256(bytes_of(key), bytes_of(data));
}

// A digest fed piece by piece, for data that is never in memory at once. Not copyable; movable.
class IncrementalDigest {
  public:
    enum class Algorithm { sha256, md5 };
    explicit IncrementalDigest(Algorithm algorithm);
    ~IncrementalDigest();
    IncrementalDigest(IncrementalDigest&&) noexcept;
    IncrementalDigest& operator=(IncrementalDigest&&) noexcept;

    void update(std::span<const uint8_t> data);
    void update(std::string_view data) { update(bytes_of(data)); }
    // The digest of everything fed so far (16 bytes for MD5, 32 for SHA-256, in the first bytes of the array).
    // Finishes the digest: call once.
    std::array<uint8_t, 32> finish(size_t* length = nullptr);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace backhaul::common
