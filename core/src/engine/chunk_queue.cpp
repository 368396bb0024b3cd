#include "engine/chunk_queue.hpp"

namespace backhaul {

bool ChunkQueue::push(Chunk chunk) {
    // Memory is what is bounded, so a chunk counts with its allocation, not just the bytes it holds.
    const size_t cost = chunk.capacity();
    std::unique_lock lock(mutex_);
    // A chunk larger than the capacity is still accepted into an empty queue, or it could never pass.
    changed_.wait(lock, [&] { return cancelled_ || bytes_ == 0 || bytes_ + cost <= capacity_; });
    if (cancelled_) return false;
    bytes_ += cost;
    chunks_.push_back(std::move(chunk));
    changed_.notify_all();
    return true;
}

void ChunkQueue::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
}

void ChunkQueue::cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    chunks_.clear();
    bytes_ = 0;
    changed_.notify_all();
}

bool ChunkQueue::pop(Chunk& chunk) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return cancelled_ || !chunks_.empty() || closed_; });
    if (cancelled_ || chunks_.empty()) return false;
    chunk = std::move(chunks_.front());
    chunks_.pop_front();
    bytes_ -= chunk.capacity();
    changed_.notify_all();
    return true;
}

bool ChunkQueue::finished() const {
    std::lock_guard lock(mutex_);
    return closed_ && !cancelled_ && chunks_.empty();
}

}  // namespace backhaul
