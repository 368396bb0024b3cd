// `backhaul keygen age`: a new X25519 identity and its recipient, in the formats `age-keygen` uses. Self-contained so
// the core CLI can call it without loading the plugin.
#pragma once

#include <string>

namespace backhaul::age {

struct AgeKeyPair {
    std::string identity;   // "AGE-SECRET-KEY-1…", secret
    std::string recipient;  // "age1…", public
};

AgeKeyPair generate_age_keypair();

// The identity file text `age-keygen` writes, readable by `age -d -i` and by identity_file:
//   # created: 2024-05-01T12:00:00Z
//   # public key: age1…
//   AGE-SECRET-KEY-1…
std::string format_identity_file(const AgeKeyPair& keys);

// Writes format_identity_file(keys) to a new file created with mode 0600; refuses to overwrite an existing file.
// Throws std::runtime_error with a one-line message on failure.
void write_identity_file(const std::string& path, const AgeKeyPair& keys);

}  // namespace backhaul::age
