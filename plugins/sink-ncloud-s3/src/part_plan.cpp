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

BufferPlan plan_buffers(std::optional<uint64_t> part_size, std::optional<int> concurrency, uint64_t share) {
    constexpr uint64_t kMiB = 1 << 20;
    BufferPlan plan;
    if (share == 0) {
        plan.part_size = part_size.value_or(16 * kMiB);
        plan.concurrency = concurrency.value_or(4);
        return plan;
    }
    plan.part_size = part_size.value_or(std::clamp(share / 4 / kMiB * kMiB, kMinPartSize, 16 * kMiB));
    plan.concurrency = concurrency.value_or(static_cast<int>(std::clamp<uint64_t>(share / plan.part_size, 2, 16)));
    if (!part_size || !concurrency) plan.memory_share = share;
    return plan;
}

uint32_t buffers_for(const BufferPlan& plan, uint64_t part_size) {
    const auto configured = static_cast<uint32_t>(plan.concurrency);
    if (plan.memory_share == 0) return configured;
    const uint64_t fit = std::max<uint64_t>(2, plan.memory_share / part_size);
    return static_cast<uint32_t>(std::min<uint64_t>(configured, fit));
}

}  // namespace backhaul::s3
