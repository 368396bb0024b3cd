// A whole age file as a stream: header then payload, in either direction, fed in arbitrary pieces.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "header.hpp"
#include "payload_stream.hpp"
#include "recipients.hpp"

namespace backhaul::age {

// Who the file is for: X25519 recipients, or exactly one passphrase (the scrypt stanza must be alone).
struct EncryptionKeys {
    std::vector<X25519Recipient> recipients;
    std::optional<std::string> passphrase;
    int work_factor = 18;
};

// What may open the file: identities and/or a passphrase.
struct DecryptionKeys {
    std::vector<X25519Identity> identities;
    std::optional<std::string> passphrase;
};

class AgeEncryptor {
  public:
    // Emits the header and the payload nonce at once.
    AgeEncryptor(const EncryptionKeys& keys, ByteSink emit);
    void write(std::span<const uint8_t> plaintext) { payload_->write(plaintext); }
    void finish() { payload_->finish(); }

  private:
    std::unique_ptr<PayloadEncryptor> payload_;
};

// Emits plaintext only after it authenticated. Throws FormatError: header failures, "no identity matched any of the
// recipients", a bad header MAC, and every payload failure.
class AgeDecryptor {
  public:
    AgeDecryptor(DecryptionKeys keys, ByteSink emit);
    void write(std::span<const uint8_t> data);
    void finish();

  private:
    void unlock();

    DecryptionKeys keys_;
    ByteSink emit_;
    HeaderParser header_;
    std::unique_ptr<PayloadDecryptor> payload_;
};

// The header MAC: HMAC-SHA-256 under HKDF-SHA-256(file key, no salt, "header") over the header up to "---".
HeaderMac header_mac(const FileKey& file_key, const std::vector<Stanza>& stanzas);
// Finds the file key in `header` with `keys` and checks the header MAC with it. Throws FormatError.
FileKey unlock_file_key(const Header& header, const DecryptionKeys& keys);

}  // namespace backhaul::age
