// The age payload: a 16-byte nonce, then the plaintext in STREAM chunks of 64 KiB, each sealed with
// ChaCha20-Poly1305 under HKDF-SHA-256(file key, salt = nonce, info = "payload"). The 12-byte chunk nonce is an
// 11-byte big-endian counter and a final-chunk flag byte (1 on the last chunk only). Every chunk but the last is full;
// the last may be full too, and is empty only when the whole plaintext is.
//
// Both directions hold at most one chunk, whatever the size of the data.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "primitives.hpp"

namespace backhaul::age {

constexpr size_t kChunkSize = 64 * 1024;
constexpr size_t kSealedChunkSize = kChunkSize + kAeadTagSize;
constexpr size_t kPayloadNonceSize = 16;

using FileKey = std::array<uint8_t, 16>;
// Receives each piece of output; the span is valid only during the call.
using ByteSink = std::function<void(std::span<const uint8_t>)>;

class PayloadEncryptor {
  public:
    // Emits the payload nonce at once.
    PayloadEncryptor(const FileKey& file_key, ByteSink emit);
    void write(std::span<const uint8_t> plaintext);
    // Seals the last chunk. Call once.
    void finish();

  private:
    void seal_chunk(bool final);

    ByteSink emit_;
    std::unique_ptr<ChaChaPoly> aead_;
    std::vector<uint8_t> plaintext_;
    std::vector<uint8_t> sealed_;
    uint64_t counter_ = 0;
};

// Releases plaintext only chunk by chunk, after each chunk authenticated. Throws FormatError(payload) on a chunk that
// does not authenticate, on a missing final chunk (truncation), on data after the final chunk, and on an empty final
// chunk after other chunks.
class PayloadDecryptor {
  public:
    PayloadDecryptor(const FileKey& file_key, ByteSink emit);
    void write(std::span<const uint8_t> data);
    // End of input: opens the buffered last chunk, which must carry the final flag.
    void finish();

  private:
    void open_full_chunk_followed_by_more();

    FileKey file_key_;
    ByteSink emit_;
    std::array<uint8_t, kPayloadNonceSize> nonce_{};
    size_t nonce_size_ = 0;
    std::unique_ptr<ChaChaPoly> aead_;
    std::vector<uint8_t> sealed_;
    std::vector<uint8_t> plaintext_;
    uint64_t counter_ = 0;
};

}  // namespace backhaul::age
