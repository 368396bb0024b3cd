// How big each part of a multipart upload is when the stream's length is unknown: `part_size` for the first 900
// parts, then double every 900 parts (capped at 5 GiB), so 10,000 parts of the 5 MiB minimum still reach 5 TiB,
// S3's largest object, while small backups keep small parts.
#pragma once

#include <cstdint>
#include <optional>

namespace backhaul::s3 {

constexpr uint32_t kPartsPerDoubling = 900;

// Size of part `number` (1-based, at most 10,000).
uint64_t part_size_for(uint64_t base_part_size, uint32_t number);

// Part buffers: their size and how many may exist at once (uploads and downloads alike), from the options and the
// stage's share of the memory budget (docs/memory.md).
struct BufferPlan {
    uint64_t part_size = 0;
    int concurrency = 0;
    // Non-zero when the share sized the buffers: fewer of them may exist once parts have grown (buffers_for).
    uint64_t memory_share = 0;
};
// What the sink holds at least: one part being filled and one on its way.
constexpr uint64_t kBufferMemoryMin = 2 * (5ull << 20);
// An option left unset is sized from `share`: parts of a quarter of it (5 to 16 MiB), as many buffers as fit (2 to
// 16). Without a share (a host older than ABI 1.4), 16 MiB parts and 4 buffers.
BufferPlan plan_buffers(std::optional<uint64_t> part_size, std::optional<int> concurrency, uint64_t share);
// Buffers that may exist while parts are `part_size` bytes: the plan's concurrency, fewer when parts have grown past
// what the share holds (never fewer than 2, or the plan's concurrency if that is smaller).
uint32_t buffers_for(const BufferPlan& plan, uint64_t part_size);

}  // namespace backhaul::s3
