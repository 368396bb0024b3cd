#include "part_plan.hpp"

#include <algorithm>

#include "s3_config.hpp"

namespace backhaul::s3 {

uint64_t part_size_for(uint64_t base_part_size, uint32_t number) {
    uint32_t doublings = number == 0 ? 0 : (number - 1) / kPartsPerDoubling;
    uint64_t size = base_part_size;
    for (uint32_t i = 0; i < doublings && size < kMaxPartSize; ++i) size *= 2;
    return std::min(size, kMaxPartSize);
}

}  // namespace backhaul::s3
