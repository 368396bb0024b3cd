// The streaming engine: a producer, a chain of transform streams and a consumer, each on its own thread, joined by
// bounded ChunkQueues. Used by backup (source -> encode -> sink) and restore (sink -> decode -> target) alike.
#pragma once

#include <backhaul/plugin_abi.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/plugin_instance.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

struct StreamEnds {
    std::string producer_label;
    // Fills a prefix of the buffer and returns its length; 0 = complete. Throws StageFailure, RunError (or anything)
    // on failure; a StageFailure with BH_CANCELLED while the run is cancelled is the cancellation, not an error.
    std::function<size_t(std::span<uint8_t>)> read;
    std::string consumer_label;
    std::function<void(std::span<const uint8_t>)> write;
    // Appended to the message of any failure in this stream, e.g. " (stream 'databases/orders')": which of a set's
    // streams failed, whichever stage it was.
    std::string context;
};

struct StreamResult {
    uint64_t bytes_read = 0;     // what the producer produced
    uint64_t bytes_written = 0;  // what the consumer consumed
    // True only if every stage succeeded and the consumer saw the end of the stream: the caller may commit.
    bool complete = false;
};

// Bytes read from the producer at a time, and bytes each queue may hold before it blocks its producer.
inline constexpr size_t kChunkSize = 1 << 20;
// Two chunks: enough that neither side of a link waits on the other's every call; a deeper queue only holds memory
// the memory budget (engine/memory_plan.hpp) would rather give the buffering stages.
inline constexpr size_t kQueueCapacity = 2 << 20;

// Runs `body`; any exception becomes the run's first failure (unless it is a call stopped by the run's cancellation),
// `context` appended to its message and `label` put before a message that names no stage. What every stream thread
// does, and a set's main-thread steps of one stream (set_run.cpp).
void record_stage_failure(RunControl& control, const std::string& label, const std::string& context,
                          const std::function<void()>& body);

// Opens one `direction` stream per transform (in the order given), streams everything, closes the transform streams.
// Any failure is reported to `control` (first error wins) and cancels every stage.
StreamResult run_stream(RunControl& control, const StreamEnds& ends, const std::vector<PluginInstance*>& transforms,
                        bh_direction direction);

}  // namespace backhaul
