// Byte encodings for HTTP APIs: lower-case hex (SigV4, ETags) and standard Base64 with padding (Content-MD5,
// signature v2 of the NCloud API gateway). The implementation is the core's (common/).
#pragma once

#include <backhaul/common/encoding.hpp>

namespace backhaul::crypto {

using common::base64;
using common::base64_decode;
using common::hex;

}  // namespace backhaul::crypto
