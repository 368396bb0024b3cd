#include "util/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace backhaul {

struct Sha256::Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
    if (!context_->ctx || EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("cannot initialise SHA-256");
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const uint8_t> data) {
    if (data.empty()) return;
    if (EVP_DigestUpdate(context_->ctx, data.data(), data.size()) != 1) throw std::runtime_error("SHA-256 failed");
}

std::string Sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_->ctx, digest, &length) != 1) throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 hash;
    hash.update(data);
    return hash.hex_digest();
}

}  // namespace backhaul
