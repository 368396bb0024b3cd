#include "engine/memory_plan.hpp"

#include <algorithm>
#include <backhaul/common/human_bytes.hpp>

#include "engine/stream_pipeline.hpp"

namespace backhaul {

using common::human_bytes;

std::string MemoryPlan::summary() const {
    std::string line = "memory budget " + human_bytes(budget) + (budget_is_default ? " (default)" : "");
    if (streams_at_once > 1)
        line += ", " + human_bytes(per_stream) + " for each of " + std::to_string(streams_at_once) + " streams at once";
    line += ": engine queues " + human_bytes(engine_per_stream);
    for (const auto& [label, share] : shares) line += ", " + label + " " + human_bytes(share);
    return line;
}

uint64_t engine_memory_per_stream(size_t transforms, size_t sinks) {
    const size_t links = transforms + 1;
    const size_t sink_queues = sinks > 1 ? sinks : 0;
    const size_t queues = links + sink_queues;
    // The reader, each transform, the consumer, and each sink writer hold one chunk while they work on it.
    const size_t threads = links + 1 + sink_queues;
    return queues * kQueueCapacity + threads * kChunkSize;
}

MemoryPlan plan_memory(const PipelineSpec& spec, bool source_set, size_t transforms, size_t sinks,
                       const std::vector<MemoryDemand>& buffering, ConfigProblems& problems) {
    MemoryPlan plan;
    plan.streams_at_once = source_set ? spec.jobs : 1;
    const auto streams = static_cast<uint64_t>(plan.streams_at_once);
    plan.engine_per_stream = engine_memory_per_stream(transforms, sinks);
    uint64_t minimums = 0;
    for (const MemoryDemand& stage : buffering) minimums += stage.memory_min;
    const uint64_t needed = (plan.engine_per_stream + minimums) * streams;

    plan.budget_is_default = !spec.memory_budget.has_value();
    // The default never refuses a pipeline: one whose stages need more than it (several sinks that each buffer,
    // say) gets what they need.
    plan.budget = spec.memory_budget ? static_cast<uint64_t>(*spec.memory_budget)
                                     : std::max(kDefaultMemoryPerStream * streams, needed);
    plan.per_stream = plan.budget / streams;
    if (buffering.empty()) return plan;

    const uint64_t left = plan.per_stream > plan.engine_per_stream ? plan.per_stream - plan.engine_per_stream : 0;
    for (const MemoryDemand& stage : buffering) {
        // left * min / minimums without overflow: a budget is below 2^63 bytes.
        const auto share = static_cast<uint64_t>(static_cast<long double>(left) * stage.memory_min / minimums);
        plan.shares.emplace_back(stage.label, std::max(share, stage.memory_min));
    }
    if (left < minimums) {
        std::string stages;
        for (const MemoryDemand& stage : buffering)
            stages += (stages.empty() ? "" : ", ") + stage.label + " " + human_bytes(stage.memory_min);
        const std::string each =
            plan.streams_at_once > 1 ? " for each of " + std::to_string(plan.streams_at_once) + " streams at once" : "";
        problems.add(spec.memory_budget_where,
                     "'memory_budget' " + human_bytes(plan.budget) + " is too small: the engine's queues take " +
                         human_bytes(plan.engine_per_stream) + each + " and the buffering stages need at least " +
                         stages + "; set memory_budget to at least " + human_bytes(needed));
    }
    return plan;
}

}  // namespace backhaul
