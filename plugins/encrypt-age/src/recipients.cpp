#include "recipients.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base64.hpp"
#include "bech32.hpp"
#include "format_error.hpp"

namespace backhaul::age {
namespace {

constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrp = "age-secret-key-";
constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
constexpr size_t kScryptSaltSize = 16;
constexpr size_t kWrappedKeySize = sizeof(FileKey) + kAeadTagSize;

std::optional<FileKey> open_file_key(const Key32& wrap_key, std::span<const uint8_t> body) {
    ChaChaPoly aead(wrap_key);
    std::vector<uint8_t> plain;
    if (!aead.open(AeadNonce{}, body, plain)) return std::nullopt;
    if (plain.size() != sizeof(FileKey)) return std::nullopt;
    FileKey file_key{};
    std::copy(plain.begin(), plain.end(), file_key.begin());
    return file_key;
}

std::vector<uint8_t> seal_file_key(const Key32& wrap_key, const FileKey& file_key) {
    ChaChaPoly aead(wrap_key);
    std::vector<uint8_t> body;
    aead.seal(AeadNonce{}, file_key, body);
    return body;
}

Key32 x25519_wrap_key(const Key32& shared, const Key32& share, const Key32& recipient) {
    std::vector<uint8_t> salt(share.begin(), share.end());
    salt.insert(salt.end(), recipient.begin(), recipient.end());
    return hkdf_sha256(shared, salt, kX25519Label);
}

std::string read_whole_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw invalid_config(std::string("cannot read ") + what + " '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Calls `line_fn(line, number)` for each line that is not blank or a comment, trimmed of surrounding whitespace.
template <class LineFn>
void for_each_key_line(std::string_view text, LineFn line_fn) {
    size_t number = 0;
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        ++number;
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
        if (line.empty() || line.front() == '#') continue;
        line_fn(line, number);
    }
}

}  // namespace

std::optional<X25519Recipient> parse_recipient(std::string_view text) {
    // Bech32 accepts an all-upper-case string too; age recipients are lower case only.
    if (!text.starts_with("age1")) return std::nullopt;
    std::optional<Bech32Data> decoded = bech32_decode(text);
    if (!decoded || decoded->hrp != kRecipientHrp || decoded->data.size() != 32) return std::nullopt;
    X25519Recipient recipient;
    std::copy(decoded->data.begin(), decoded->data.end(), recipient.public_key.begin());
    return recipient;
}

std::string format_recipient(const X25519Recipient& recipient) {
    return bech32_encode(kRecipientHrp, recipient.public_key);
}

std::optional<X25519Identity> parse_identity(std::string_view text) {
    if (!text.starts_with("AGE-SECRET-KEY-1")) return std::nullopt;
    std::optional<Bech32Data> decoded = bech32_decode(text);
    if (!decoded || decoded->hrp != kIdentityHrp || decoded->data.size() != 32) return std::nullopt;
    Key32 private_key;
    std::copy(decoded->data.begin(), decoded->data.end(), private_key.begin());
    std::fill(decoded->data.begin(), decoded->data.end(), uint8_t{0});
    return identity_from_private_key(private_key);
}

std::string format_identity(const X25519Identity& identity) {
    std::string text = bech32_encode(kIdentityHrp, identity.private_key);
    std::transform(text.begin(), text.end(), text.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

X25519Identity identity_from_private_key(const Key32& private_key) {
    return X25519Identity{private_key, x25519_public_key(private_key)};
}

std::vector<X25519Recipient> parse_recipients_text(std::string_view text, std::string_view origin) {
    std::vector<X25519Recipient> recipients;
    for_each_key_line(text, [&](std::string_view line, size_t number) {
        std::optional<X25519Recipient> recipient = parse_recipient(line);
        if (!recipient)
            throw invalid_config(std::string(origin) + " line " + std::to_string(number) +
                                 ": not an age X25519 recipient (age1...): '" + std::string(line) + "'");
        recipients.push_back(*recipient);
    });
    return recipients;
}

std::vector<X25519Identity> parse_identities_text(std::string_view text, std::string_view origin) {
    std::vector<X25519Identity> identities;
    for_each_key_line(text, [&](std::string_view line, size_t number) {
        std::optional<X25519Identity> identity = parse_identity(line);
        // Never echo the line: it may be a mangled secret key.
        if (!identity)
            throw invalid_config(std::string(origin) + " line " + std::to_string(number) +
                                 ": not an age identity (AGE-SECRET-KEY-1...)");
        identities.push_back(*identity);
    });
    if (identities.empty())
        throw invalid_config(std::string(origin) + " contains no age identity (AGE-SECRET-KEY-1...)");
    return identities;
}

std::vector<X25519Identity> read_identity_file(const std::string& path) {
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) throw invalid_config("cannot read identity_file '" + path + "'");
    if (info.st_mode & 077) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        throw invalid_config("permissions " + std::string(mode) + " for identity_file '" + path +
                             "' are too open: it must not be accessible by group or others (chmod 600 '" + path + "')");
    }
    std::string text = read_whole_file(path, "identity_file");
    std::vector<X25519Identity> identities = parse_identities_text(text, "identity_file '" + path + "'");
    std::fill(text.begin(), text.end(), '\0');
    return identities;
}

std::vector<X25519Recipient> read_recipients_file(const std::string& path) {
    return parse_recipients_text(read_whole_file(path, "recipients_file"), "recipients_file '" + path + "'");
}

Stanza wrap_x25519(const FileKey& file_key, const X25519Recipient& recipient) {
    Key32 ephemeral;
    std::optional<Key32> shared;
    Key32 share;
    // A random scalar gives a low-order result only with negligible probability; retry rather than reason about it.
    do {
        random_bytes(ephemeral);
        share = x25519_public_key(ephemeral);
        shared = x25519_shared_secret(ephemeral, recipient.public_key);
    } while (!shared);
    Key32 wrap_key = x25519_wrap_key(*shared, share, recipient.public_key);
    return Stanza{"X25519", {base64_encode(share)}, seal_file_key(wrap_key, file_key)};
}

std::optional<FileKey> unwrap_x25519(const Stanza& stanza, const X25519Identity& identity) {
    if (stanza.args.size() != 1) throw header_error("an X25519 stanza must have exactly one argument");
    std::optional<std::vector<uint8_t>> share_bytes = base64_decode(stanza.args[0]);
    if (!share_bytes || share_bytes->size() != 32)
        throw header_error("the X25519 share is not 32 bytes of canonical Base64");
    if (stanza.body.size() != kWrappedKeySize) throw header_error("an X25519 stanza body must be 32 bytes");
    Key32 share;
    std::copy(share_bytes->begin(), share_bytes->end(), share.begin());
    std::optional<Key32> shared = x25519_shared_secret(identity.private_key, share);
    if (!shared) throw header_error("the X25519 share is a low-order point");
    return open_file_key(x25519_wrap_key(*shared, share, identity.public_key), stanza.body);
}

Stanza wrap_scrypt(const FileKey& file_key, std::string_view passphrase, int work_factor) {
    std::vector<uint8_t> salt(kScryptSaltSize);
    random_bytes(salt);
    std::vector<uint8_t> labelled_salt(kScryptLabel.begin(), kScryptLabel.end());
    labelled_salt.insert(labelled_salt.end(), salt.begin(), salt.end());
    Key32 wrap_key = scrypt(passphrase, labelled_salt, work_factor);
    return Stanza{"scrypt", {base64_encode(salt), std::to_string(work_factor)}, seal_file_key(wrap_key, file_key)};
}

std::optional<FileKey> unwrap_scrypt(const Stanza& stanza, std::string_view passphrase) {
    if (stanza.args.size() != 2) throw header_error("an scrypt stanza must have exactly two arguments");
    std::optional<std::vector<uint8_t>> salt = base64_decode(stanza.args[0]);
    if (!salt || salt->size() != kScryptSaltSize)
        throw header_error("the scrypt salt is not 16 bytes of canonical Base64");
    // Decimal without sign or leading zeros, as the spec writes it.
    const std::string& factor_text = stanza.args[1];
    bool decimal = !factor_text.empty() && factor_text.size() <= 2 && factor_text[0] != '0' &&
                   std::all_of(factor_text.begin(), factor_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!decimal) throw header_error("the scrypt work factor '" + factor_text + "' is not a decimal number");
    int work_factor = std::stoi(factor_text);
    if (work_factor > kMaxScryptWorkFactor)
        throw header_error("the scrypt work factor " + factor_text + " is above the maximum of " +
                           std::to_string(kMaxScryptWorkFactor));
    if (stanza.body.size() != kWrappedKeySize) throw header_error("an scrypt stanza body must be 32 bytes");
    std::vector<uint8_t> labelled_salt(kScryptLabel.begin(), kScryptLabel.end());
    labelled_salt.insert(labelled_salt.end(), salt->begin(), salt->end());
    return open_file_key(scrypt(passphrase, labelled_salt, work_factor), stanza.body);
}

}  // namespace backhaul::age
