#include "primitives.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <backhaul/sdk.hpp>
#include <backhaul/support/crypto/digest.hpp>
#include <memory>
#include <string>

namespace backhaul::age {
namespace {

[[noreturn]] void fail(const char* what) {
    unsigned long code = ERR_get_error();
    char detail[256] = "no OpenSSL error queued";
    if (code != 0) ERR_error_string_n(code, detail, sizeof detail);
    ERR_clear_error();
    throw Error(Status::fatal, std::string("OpenSSL ") + what + " failed", detail);
}

struct PkeyDeleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyContextDeleter {
    void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
};
struct KdfDeleter {
    void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfContextDeleter {
    void operator()(EVP_KDF_CTX* context) const { EVP_KDF_CTX_free(context); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Pkey private_x25519(const Key32& private_key) {
    Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
    if (!key) fail("X25519 private key");
    return key;
}

}  // namespace

void random_bytes(std::span<uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) fail("random number generation");
}

Key32 x25519_public_key(const Key32& private_key) {
    Pkey key = private_x25519(private_key);
    Key32 public_key;
    size_t length = public_key.size();
    if (EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &length) != 1 || length != public_key.size())
        fail("X25519 public key");
    return public_key;
}

std::optional<Key32> x25519_shared_secret(const Key32& private_key, const Key32& peer_public_key) {
    Pkey key = private_x25519(private_key);
    Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public_key.data(), peer_public_key.size()));
    if (!peer) fail("X25519 public key");
    std::unique_ptr<EVP_PKEY_CTX, PkeyContextDeleter> context(EVP_PKEY_CTX_new(key.get(), nullptr));
    if (!context || EVP_PKEY_derive_init(context.get()) != 1) fail("X25519 key agreement");
    // OpenSSL refuses to derive the all-zero secret of a low-order point; that refusal is our nullopt.
    if (EVP_PKEY_derive_set_peer(context.get(), peer.get()) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    Key32 shared;
    size_t length = shared.size();
    if (EVP_PKEY_derive(context.get(), shared.data(), &length) != 1 || length != shared.size()) {
        ERR_clear_error();
        return std::nullopt;
    }
    uint8_t any_bit = 0;
    for (uint8_t byte : shared) any_bit |= byte;
    if (any_bit == 0) return std::nullopt;
    return shared;
}

Key32 hkdf_sha256(std::span<const uint8_t> key, std::span<const uint8_t> salt, std::string_view info) {
    std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    if (!kdf) fail("HKDF");
    std::unique_ptr<EVP_KDF_CTX, KdfContextDeleter> context(EVP_KDF_CTX_new(kdf.get()));
    if (!context) fail("HKDF");
    char digest[] = "SHA256";
    // An empty salt is HKDF's default (HashLen zero bytes); OpenSSL wants the parameter left out for it.
    OSSL_PARAM params[5];
    size_t count = 0;
    params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[count++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key.data()), key.size());
    if (!salt.empty())
        params[count++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size());
    params[count++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
    params[count] = OSSL_PARAM_construct_end();
    Key32 out;
    if (EVP_KDF_derive(context.get(), out.data(), out.size(), params) != 1) fail("HKDF");
    return out;
}

Key32 hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
    return crypto::hmac_sha256(key, data);
}

bool equal_secret(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Key32 scrypt(std::string_view passphrase, std::span<const uint8_t> salt, int log2_n) {
    constexpr uint64_t r = 8, p = 1;
    const uint64_t n = uint64_t{1} << log2_n;
    // OpenSSL refuses to use more than `maxmem` bytes (32 MiB by default); allow what these parameters need.
    const uint64_t max_memory = 128 * r * (n + p + 2) + (1u << 20);
    Key32 out;
    if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(), salt.size(), n, r, p, max_memory, out.data(),
                       out.size()) != 1)
        fail("scrypt");
    return out;
}

struct ChaChaPoly::Context {
    EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
    ~Context() { EVP_CIPHER_CTX_free(cipher); }
};

ChaChaPoly::ChaChaPoly(const Key32& key) : key_(key), context_(new Context) {
    if (!context_->cipher) {
        delete context_;
        fail("ChaCha20-Poly1305 context");
    }
}

ChaChaPoly::~ChaChaPoly() {
    OPENSSL_cleanse(key_.data(), key_.size());
    delete context_;
}

void ChaChaPoly::seal(const AeadNonce& nonce, std::span<const uint8_t> plaintext, std::vector<uint8_t>& out) {
    EVP_CIPHER_CTX* cipher = context_->cipher;
    if (EVP_EncryptInit_ex(cipher, EVP_chacha20_poly1305(), nullptr, key_.data(), nonce.data()) != 1)
        fail("ChaCha20-Poly1305 encryption");
    size_t start = out.size();
    out.resize(start + plaintext.size() + kAeadTagSize);
    int length = 0;
    if (!plaintext.empty() && EVP_EncryptUpdate(cipher, out.data() + start, &length, plaintext.data(),
                                                static_cast<int>(plaintext.size())) != 1)
        fail("ChaCha20-Poly1305 encryption");
    int final_length = 0;
    if (EVP_EncryptFinal_ex(cipher, out.data() + start + length, &final_length) != 1 ||
        EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, out.data() + start + plaintext.size()) != 1)
        fail("ChaCha20-Poly1305 encryption");
}

bool ChaChaPoly::open(const AeadNonce& nonce, std::span<const uint8_t> sealed, std::vector<uint8_t>& out) {
    if (sealed.size() < kAeadTagSize) return false;
    EVP_CIPHER_CTX* cipher = context_->cipher;
    if (EVP_DecryptInit_ex(cipher, EVP_chacha20_poly1305(), nullptr, key_.data(), nonce.data()) != 1)
        fail("ChaCha20-Poly1305 decryption");
    size_t text_size = sealed.size() - kAeadTagSize;
    size_t start = out.size();
    out.resize(start + text_size);
    int length = 0;
    uint8_t tag[kAeadTagSize];
    std::copy(sealed.end() - kAeadTagSize, sealed.end(), tag);
    bool ok = (text_size == 0 || EVP_DecryptUpdate(cipher, out.data() + start, &length, sealed.data(),
                                                   static_cast<int>(text_size)) == 1) &&
              EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, tag) == 1;
    int final_length = 0;
    ok = ok && EVP_DecryptFinal_ex(cipher, out.data() + start + length, &final_length) == 1;
    if (!ok) {
        // Unauthenticated plaintext never leaves this function.
        OPENSSL_cleanse(out.data() + start, text_size);
        out.resize(start);
        ERR_clear_error();
    }
    return ok;
}

}  // namespace backhaul::age
