// What the single-stream and the parallel gzip encoders (and the decoder) agree on, so that both encoders produce the
// same format at the same level and either output decodes the same way.
#pragma once

#include <zlib.h>

#include <string>

namespace backhaul::gzip {

// The largest deflate window, 32 KiB: also how much history a parallel block gets as its dictionary.
constexpr int kWindowBits = 15;
constexpr size_t kWindowSize = size_t{1} << kWindowBits;
// +16 asks zlib for the gzip wrapper (header and CRC-32 trailer) instead of the zlib one.
constexpr int kGzipWindowBits = kWindowBits + 16;
constexpr int kMemLevel = 8;

// The XFL byte of the gzip header, as zlib writes it for `level` (2 = best compression, 4 = fastest).
constexpr uint8_t extra_flags(int level) { return level == 9 ? 2 : (level < 2 ? 4 : 0); }

inline std::string zlib_message(const z_stream& stream, int code) {
    if (stream.msg) return stream.msg;
    const char* text = zError(code);
    return text ? text : "zlib error " + std::to_string(code);
}

}  // namespace backhaul::gzip
