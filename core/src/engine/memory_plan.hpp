// How a pipeline's memory budget is split (docs/memory.md). One number bounds what the run's buffers hold at once: the
// engine's queues between stages and the buffers of every stage that declares memory_min (compression jobs, parts in
// flight, read-ahead). Each stream running at once gets an equal part; within it the engine takes what its queues
// can hold and the buffering stages share the rest in proportion to their minimums: each gets the same multiple of
// what it needs at least.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/pipeline_spec.hpp"
#include "errors.hpp"

namespace backhaul {

// The budget of each stream running at once when the pipeline sets none (or what its stages need, if more): with the
// process itself (about 17 MiB of code, libraries and TLS state) a one-stream pipeline stays within 64 MiB of resident
// memory.
inline constexpr uint64_t kDefaultMemoryPerStream = 40ull << 20;

// A stage that sizes its buffers from its share.
struct MemoryDemand {
    std::string label;  // "transform[0] (compress-zstd)"
    uint64_t memory_min = 0;
};

struct MemoryPlan {
    uint64_t budget = 0;  // the whole run's, set or defaulted
    bool budget_is_default = true;
    int streams_at_once = 1;         // `jobs` for a set, else 1
    uint64_t per_stream = 0;         // budget / streams_at_once
    uint64_t engine_per_stream = 0;  // queues between stages, and the chunk each stage's thread holds
    // Each buffering stage's share per stream, in the order of the demands given to plan_memory.
    std::vector<std::pair<std::string, uint64_t>> shares;

    // One line for `validate`: "memory budget 40.0 MiB (default): engine queues 7.0 MiB, transform[0] (compress-zstd)
    // 14.7 MiB, sink (sink-ncloud-s3) 18.3 MiB".
    std::string summary() const;
};

// What the engine's queues and stage threads hold per stream: one queue per link (transforms + 1), one more per sink
// when there are several (each has its own writer), and one chunk in the hand of each of those threads.
uint64_t engine_memory_per_stream(size_t transforms, size_t sinks);

// Splits the budget. Adds one problem at `memory_budget` if it cannot cover every minimum, saying the smallest budget
// that fits; the default budget grows to what the stages need instead.
MemoryPlan plan_memory(const PipelineSpec& spec, bool source_set, size_t transforms, size_t sinks,
                       const std::vector<MemoryDemand>& buffering, ConfigProblems& problems);

}  // namespace backhaul
