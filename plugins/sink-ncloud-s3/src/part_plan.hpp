// How big each part of a multipart upload is when the stream's length is unknown: `part_size` for the first 900
// parts, then double every 900 parts (capped at 5 GiB), so 10,000 parts of the 5 MiB minimum still reach 5 TiB,
// S3's largest object, while small backups keep small parts.
#pragma once

#include <cstdint>

namespace backhaul::s3 {

constexpr uint32_t kPartsPerDoubling = 900;

// Size of part `number` (1-based, at most 10,000).
uint64_t part_size_for(uint64_t base_part_size, uint32_t number);

}  // namespace backhaul::s3
