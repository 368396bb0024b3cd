#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <backhaul/common/digest.hpp>
#include <stdexcept>

namespace backhaul::common {
namespace {

template <size_t N>
std::array<uint8_t, N> one_shot(const EVP_MD* md, std::span<const uint8_t> data) {
    std::array<uint8_t, N> out{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &length, md, nullptr) != 1 || length != N)
        throw std::runtime_error("OpenSSL digest failed");
    return out;
}

}  // namespace

Sha256Digest sha256(std::span<const uint8_t> data) { return one_shot<32>(EVP_sha256(), data); }

Md5Digest md5(std::span<const uint8_t> data) { return one_shot<16>(EVP_md5(), data); }

Sha256Digest hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
    Sha256Digest out{};
    unsigned int length = 0;
    // HMAC() with a zero-length key needs a non-NULL pointer.
    static const uint8_t empty = 0;
    if (!HMAC(EVP_sha256(), key.empty() ? &empty : key.data(), static_cast<int>(key.size()), data.data(), data.size(),
              out.data(), &length) ||
        length != out.size())
        throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
    return out;
}

struct IncrementalDigest::State {
    EVP_MD_CTX* context = nullptr;
    ~State() { EVP_MD_CTX_free(context); }
};

IncrementalDigest::IncrementalDigest(Algorithm algorithm) : state_(std::make_unique<State>()) {
    state_->context = EVP_MD_CTX_new();
    const EVP_MD* md = algorithm == Algorithm::sha256 ? EVP_sha256() : EVP_md5();
    if (!state_->context || EVP_DigestInit_ex(state_->context, md, nullptr) != 1)
        throw std::runtime_error("OpenSSL digest initialisation failed");
}

IncrementalDigest::~IncrementalDigest() = default;
IncrementalDigest::IncrementalDigest(IncrementalDigest&&) noexcept = default;
IncrementalDigest& IncrementalDigest::operator=(IncrementalDigest&&) noexcept = default;

void IncrementalDigest::update(std::span<const uint8_t> data) {
    if (!data.empty() && EVP_DigestUpdate(state_->context, data.data(), data.size()) != 1)
        throw std::runtime_error("OpenSSL digest update failed");
}

std::array<uint8_t, 32> IncrementalDigest::finish(size_t* length) {
    std::array<uint8_t, 32> out{};
    unsigned int produced = 0;
    if (EVP_DigestFinal_ex(state_->context, out.data(), &produced) != 1)
        throw std::runtime_error("OpenSSL digest finalisation failed");
    if (length) *length = produced;
    return out;
}

}  // namespace backhaul::common
