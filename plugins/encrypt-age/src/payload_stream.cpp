#include "payload_stream.hpp"

#include <algorithm>
#include <string>

#include "format_error.hpp"

namespace backhaul::age {
namespace {

AeadNonce chunk_nonce(uint64_t counter, bool final) {
    AeadNonce nonce{};
    for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
    nonce[11] = final ? 1 : 0;
    return nonce;
}

std::unique_ptr<ChaChaPoly> payload_aead(const FileKey& file_key, std::span<const uint8_t> nonce) {
    Key32 key = hkdf_sha256(file_key, nonce, "payload");
    return std::make_unique<ChaChaPoly>(key);
}

FormatError chunk_failed(uint64_t counter) {
    return FormatError(FailureKind::payload, "age payload chunk " + std::to_string(counter + 1) +
                                                 " failed authentication: the file is corrupted, truncated or was "
                                                 "modified");
}

}  // namespace

PayloadEncryptor::PayloadEncryptor(const FileKey& file_key, ByteSink emit) : emit_(std::move(emit)) {
    std::array<uint8_t, kPayloadNonceSize> nonce;
    random_bytes(nonce);
    aead_ = payload_aead(file_key, nonce);
    plaintext_.reserve(kChunkSize);
    sealed_.reserve(kSealedChunkSize);
    emit_(nonce);
}

void PayloadEncryptor::write(std::span<const uint8_t> plaintext) {
    while (!plaintext.empty()) {
        // A full chunk waits for more input: only then do we know it is not the last one.
        if (plaintext_.size() == kChunkSize) seal_chunk(false);
        size_t take = std::min(plaintext.size(), kChunkSize - plaintext_.size());
        plaintext_.insert(plaintext_.end(), plaintext.begin(), plaintext.begin() + static_cast<ptrdiff_t>(take));
        plaintext = plaintext.subspan(take);
    }
}

void PayloadEncryptor::finish() { seal_chunk(true); }

void PayloadEncryptor::seal_chunk(bool final) {
    sealed_.clear();
    aead_->seal(chunk_nonce(counter_++, final), plaintext_, sealed_);
    plaintext_.clear();
    emit_(sealed_);
}

PayloadDecryptor::PayloadDecryptor(const FileKey& file_key, ByteSink emit)
    : file_key_(file_key), emit_(std::move(emit)) {
    sealed_.reserve(kSealedChunkSize);
    plaintext_.reserve(kChunkSize);
}

void PayloadDecryptor::write(std::span<const uint8_t> data) {
    if (nonce_size_ < nonce_.size()) {
        size_t take = std::min(data.size(), nonce_.size() - nonce_size_);
        std::copy_n(data.begin(), take, nonce_.begin() + static_cast<ptrdiff_t>(nonce_size_));
        nonce_size_ += take;
        data = data.subspan(take);
        if (nonce_size_ == nonce_.size()) aead_ = payload_aead(file_key_, nonce_);
    }
    while (!data.empty()) {
        if (sealed_.size() == kSealedChunkSize) open_full_chunk_followed_by_more();
        size_t take = std::min(data.size(), kSealedChunkSize - sealed_.size());
        sealed_.insert(sealed_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(take));
        data = data.subspan(take);
    }
}

void PayloadDecryptor::open_full_chunk_followed_by_more() {
    plaintext_.clear();
    if (!aead_->open(chunk_nonce(counter_, false), sealed_, plaintext_)) {
        // A full final chunk followed by more bytes: the file was extended, not corrupted.
        if (aead_->open(chunk_nonce(counter_, true), sealed_, plaintext_)) {
            plaintext_.clear();
            throw FormatError(FailureKind::payload, "trailing data after the end of the age payload");
        }
        throw chunk_failed(counter_);
    }
    ++counter_;
    sealed_.clear();
    emit_(plaintext_);
}

void PayloadDecryptor::finish() {
    if (nonce_size_ < nonce_.size())
        throw FormatError(FailureKind::payload, "truncated age file: the payload nonce is incomplete");
    if (sealed_.empty()) throw FormatError(FailureKind::payload, "truncated age file: the final chunk is missing");
    plaintext_.clear();
    if (!aead_->open(chunk_nonce(counter_, true), sealed_, plaintext_)) {
        // A full chunk that opens as a middle chunk: the file was cut exactly at a chunk boundary.
        if (sealed_.size() == kSealedChunkSize && aead_->open(chunk_nonce(counter_, false), sealed_, plaintext_)) {
            plaintext_.clear();
            throw FormatError(FailureKind::payload, "truncated age file: the final chunk is missing");
        }
        throw chunk_failed(counter_);
    }
    if (plaintext_.empty() && counter_ > 0)
        throw FormatError(FailureKind::payload, "invalid age payload: the final chunk is empty");
    sealed_.clear();
    emit_(plaintext_);
}

}  // namespace backhaul::age
