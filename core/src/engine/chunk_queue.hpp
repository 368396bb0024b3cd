// A bounded, blocking queue of byte chunks between two stage threads: the pipeline's only buffering. A full queue
// blocks the producer (backpressure), so memory stays bounded by the sum of the queue capacities whatever the size of
// the backup.
#pragma once

#include <boost/container/vector.hpp>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace backhaul {

// Boost's vector for its default_init resize: the producer reads straight into a chunk, and zeroing the megabyte
// first would be one more pass over every byte of the backup.
using Chunk = boost::container::vector<uint8_t>;

class ChunkQueue {
  public:
    explicit ChunkQueue(size_t capacity_bytes) : capacity_(capacity_bytes) {}

    // Blocks while the chunks queued hold `capacity` bytes of memory or more (counted by allocation, so half-empty
    // chunks cannot pile up). Returns false if the queue was cancelled.
    bool push(Chunk chunk);
    // The producer is done: pop() returns false once the queue is drained.
    void close();
    // Wakes every waiter; push and pop return false from now on.
    void cancel();
    // Blocks until a chunk is available. Returns false at the end (closed and drained) or if cancelled.
    bool pop(Chunk& chunk);
    // True if pop() returned false because the producer closed the queue, not because of cancel().
    bool finished() const;

  private:
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Chunk> chunks_;
    size_t bytes_ = 0;
    bool closed_ = false;
    bool cancelled_ = false;
};

}  // namespace backhaul
