// The OpenSSL 3 primitives age is built from: X25519, HKDF-SHA-256, ChaCha20-Poly1305, HMAC-SHA-256 and scrypt.
// Failures of OpenSSL itself throw backhaul::Error (fatal); an authentication failure is a normal result (nullopt or
// false), since for age it means "wrong key" or "tampered data", which callers turn into their own messages.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace backhaul::age {

using Key32 = std::array<uint8_t, 32>;
constexpr size_t kAeadTagSize = 16;
constexpr size_t kAeadNonceSize = 12;
using AeadNonce = std::array<uint8_t, kAeadNonceSize>;

inline std::span<const uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

void random_bytes(std::span<uint8_t> out);

// The X25519 public key of a private scalar.
Key32 x25519_public_key(const Key32& private_key);
// X25519(private_key, peer); nullopt when the result is all zeros (a low-order peer point), which age rejects.
std::optional<Key32> x25519_shared_secret(const Key32& private_key, const Key32& peer_public_key);

Key32 hkdf_sha256(std::span<const uint8_t> key, std::span<const uint8_t> salt, std::string_view info);
Key32 hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);
// Constant-time comparison, for MACs.
bool equal_secret(std::span<const uint8_t> a, std::span<const uint8_t> b);

// scrypt with r = 8, p = 1 and N = 2^log2_n, as age's passphrase recipient uses it.
Key32 scrypt(std::string_view passphrase, std::span<const uint8_t> salt, int log2_n);

// ChaCha20-Poly1305 with one key for many messages (each STREAM chunk). Not copyable.
class ChaChaPoly {
  public:
    explicit ChaChaPoly(const Key32& key);
    ~ChaChaPoly();
    ChaChaPoly(const ChaChaPoly&) = delete;
    ChaChaPoly& operator=(const ChaChaPoly&) = delete;

    // Appends ciphertext and tag to `out`.
    void seal(const AeadNonce& nonce, std::span<const uint8_t> plaintext, std::vector<uint8_t>& out);
    // Appends the plaintext to `out`; false (with `out` unchanged) if the tag does not verify.
    bool open(const AeadNonce& nonce, std::span<const uint8_t> sealed, std::vector<uint8_t>& out);

  private:
    Key32 key_;
    struct Context;
    Context* context_;
};

}  // namespace backhaul::age
