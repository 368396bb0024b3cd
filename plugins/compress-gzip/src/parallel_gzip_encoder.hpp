// gzip compression on several threads, the way pigz does it, with output that any gunzip reads.
#pragma once

#include <backhaul/sdk.hpp>
#include <cstddef>
#include <memory>

namespace backhaul::gzip {

// Input is cut into blocks of this size, each compressed on its own worker thread. Large enough that the 32 KiB of
// history a block loses at its start costs almost nothing (pigz uses the same size); small enough that a few blocks
// per worker keep every core busy and memory small.
constexpr size_t kParallelBlockSize = 128 * 1024;

// A stream producing ONE gzip member: a header, the blocks' raw deflate data in input order (each block primed with
// the 32 KiB before it and ended on a byte boundary, the last one ending the deflate stream), and a trailer with the
// CRC-32 of all input combined from the blocks' CRCs. `workers` threads compress; the stream's own thread copies input
// and is the only one that calls `out`. At most a fixed number of blocks per worker are in flight at once.
std::unique_ptr<TransformStream> make_parallel_gzip_encoder(Output out, int level, unsigned workers);

// What each worker adds at most: its blocks in flight (input, output, the 32 KiB dictionary each) and its deflate
// state (256 KiB at zlib's default memLevel). The memory budget's share caps `threads = 0` with it.
constexpr uint64_t kParallelWorkerMemory = 1536 * 1024;

}  // namespace backhaul::gzip
