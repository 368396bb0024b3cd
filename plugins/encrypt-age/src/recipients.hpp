// Who can open an age file: X25519 recipients (`age1…` public keys, opened with `AGE-SECRET-KEY-1…` identities) and
// the scrypt passphrase recipient. Each wraps the 16-byte file key into one header stanza.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "header.hpp"
#include "payload_stream.hpp"
#include "primitives.hpp"

namespace backhaul::age {

// The largest scrypt work factor (log2 N) a header may ask for: 2^22 × 1 KiB = 4 GiB of memory and several seconds.
// A hostile header must not be able to demand more.
constexpr int kMaxScryptWorkFactor = 22;

struct X25519Recipient {
    Key32 public_key;
};

struct X25519Identity {
    Key32 private_key;
    Key32 public_key;
};

// "age1…" (Bech32, lower case); nullopt if `text` is not one.
std::optional<X25519Recipient> parse_recipient(std::string_view text);
std::string format_recipient(const X25519Recipient& recipient);
// "AGE-SECRET-KEY-1…" (Bech32, upper case); nullopt if `text` is not one.
std::optional<X25519Identity> parse_identity(std::string_view text);
std::string format_identity(const X25519Identity& identity);
X25519Identity identity_from_private_key(const Key32& private_key);

// Recipients file content: one `age1…` per line; blank lines and `#` comments are ignored. Throws
// invalid_config naming `origin` and the line for anything else.
std::vector<X25519Recipient> parse_recipients_text(std::string_view text, std::string_view origin);
// Identity file content (as `age-keygen` writes it): `AGE-SECRET-KEY-1…` lines, blank lines and `#` comments. Throws
// invalid_config naming `origin` and the line (never echoing the key) for anything else, or if there is no key.
std::vector<X25519Identity> parse_identities_text(std::string_view text, std::string_view origin);
// Reads an identity file, refusing one that group or others may access (like ssh does for private keys).
std::vector<X25519Identity> read_identity_file(const std::string& path);
// Reads a recipients file.
std::vector<X25519Recipient> read_recipients_file(const std::string& path);

Stanza wrap_x25519(const FileKey& file_key, const X25519Recipient& recipient);
// nullopt if the stanza is not for this identity. Throws FormatError(header) for a malformed X25519 stanza.
std::optional<FileKey> unwrap_x25519(const Stanza& stanza, const X25519Identity& identity);

Stanza wrap_scrypt(const FileKey& file_key, std::string_view passphrase, int work_factor);
// nullopt if the passphrase does not open the stanza. Throws FormatError(header) for a malformed scrypt stanza or a
// work factor above kMaxScryptWorkFactor.
std::optional<FileKey> unwrap_scrypt(const Stanza& stanza, std::string_view passphrase);

}  // namespace backhaul::age
