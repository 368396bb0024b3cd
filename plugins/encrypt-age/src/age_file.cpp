#include "age_file.hpp"

#include <openssl/crypto.h>

#include "format_error.hpp"

namespace backhaul::age {

HeaderMac header_mac(const FileKey& file_key, const std::vector<Stanza>& stanzas) {
    Key32 mac_key = hkdf_sha256(file_key, {}, "header");
    std::string covered = encode_header_without_mac(stanzas);
    return hmac_sha256(mac_key, bytes_of(covered));
}

FileKey unlock_file_key(const Header& header, const DecryptionKeys& keys) {
    const std::vector<Stanza>& stanzas = header.stanzas;
    bool has_scrypt = std::any_of(stanzas.begin(), stanzas.end(), [](const Stanza& s) { return s.type == "scrypt"; });
    // Otherwise a passphrase-encrypted file could be re-targeted to extra recipients without anyone noticing.
    if (has_scrypt && stanzas.size() != 1) throw header_error("an scrypt stanza must be the only stanza in the header");
    std::optional<FileKey> file_key;
    for (const Stanza& stanza : stanzas) {
        if (stanza.type == "X25519") {
            for (const X25519Identity& identity : keys.identities) {
                file_key = unwrap_x25519(stanza, identity);
                if (file_key) break;
            }
            // Malformed stanzas must fail even when no identity is configured.
            if (keys.identities.empty() && stanza.args.size() != 1)
                throw header_error("an X25519 stanza must have exactly one argument");
        } else if (stanza.type == "scrypt" && keys.passphrase) {
            file_key = unwrap_scrypt(stanza, *keys.passphrase);
        }
        if (file_key) break;
    }
    if (!file_key) throw FormatError(FailureKind::no_match, "no identity matched any of the recipients");
    HeaderMac expected = header_mac(*file_key, stanzas);
    if (!equal_secret(expected, header.mac))
        throw FormatError(FailureKind::header_mac, "bad age header MAC: the header was modified");
    return *file_key;
}

AgeEncryptor::AgeEncryptor(const EncryptionKeys& keys, ByteSink emit) {
    FileKey file_key;
    random_bytes(file_key);
    std::vector<Stanza> stanzas;
    for (const X25519Recipient& recipient : keys.recipients) stanzas.push_back(wrap_x25519(file_key, recipient));
    if (keys.passphrase) stanzas.push_back(wrap_scrypt(file_key, *keys.passphrase, keys.work_factor));
    std::string header = encode_header(stanzas, header_mac(file_key, stanzas));
    emit(bytes_of(header));
    payload_ = std::make_unique<PayloadEncryptor>(file_key, std::move(emit));
    OPENSSL_cleanse(file_key.data(), file_key.size());
}

AgeDecryptor::AgeDecryptor(DecryptionKeys keys, ByteSink emit) : keys_(std::move(keys)), emit_(std::move(emit)) {}

void AgeDecryptor::write(std::span<const uint8_t> data) {
    if (!payload_) {
        data = data.subspan(header_.feed(data));
        if (!header_.done()) return;
        unlock();
    }
    payload_->write(data);
}

void AgeDecryptor::finish() {
    if (!payload_) {
        if (!header_.done()) throw FormatError(FailureKind::header, "truncated age file: the header is incomplete");
        unlock();
    }
    payload_->finish();
}

void AgeDecryptor::unlock() {
    FileKey file_key = unlock_file_key(header_.header(), keys_);
    payload_ = std::make_unique<PayloadDecryptor>(file_key, emit_);
    OPENSSL_cleanse(file_key.data(), file_key.size());
}

}  // namespace backhaul::age
