// Message digests over OpenSSL: SHA-256 and MD5, one-shot and incremental, plus HMAC-SHA256. What S3 signing
// (payload hash, signing key chain), Content-MD5 and ETag checks need, and what any other HTTP plugin may reuse.
// The implementation is the one the core hashes with (common/, docs/architecture.md "Layering").
#pragma once

#include <backhaul/common/digest.hpp>

namespace backhaul::crypto {

using common::bytes_of;
using common::hmac_sha256;
using common::IncrementalDigest;
using common::md5;
using common::Md5Digest;
using common::sha256;
using common::Sha256Digest;

}  // namespace backhaul::crypto
