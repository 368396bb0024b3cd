// Shared state of one run: whether it is being cancelled, and the first error, which is the one reported.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>
#include <optional>
#include <string>

namespace backhaul {

class RunControl {
public:
    bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

    // Records `message` as the run's error if it is the first one, then cancels every stage. Later errors are
    // consequences (a stage seeing its neighbour stop) and are dropped. Thread-safe.
    void fail(const std::string& message) {
        std::vector<std::function<void()>> callbacks;
        {
            std::lock_guard lock(mutex_);
            if (!error_) error_ = message;
            if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
            callbacks.swap(on_cancel_);
        }
        for (auto& callback : callbacks) callback();
    }

    // Runs `callback` once when the run is cancelled (at once if it already is), e.g. to wake threads blocked on a
    // queue. Callbacks run on the thread that cancels.
    void on_cancel(std::function<void()> callback) {
        {
            std::lock_guard lock(mutex_);
            if (!cancelled_.load(std::memory_order_acquire)) {
                on_cancel_.push_back(std::move(callback));
                return;
            }
        }
        callback();
    }

    // Forgets the callbacks (their targets are going away). Call before destroying what they reference.
    void clear_callbacks() {
        std::lock_guard lock(mutex_);
        on_cancel_.clear();
    }

    std::optional<std::string> error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }

private:
    std::atomic<bool> cancelled_{false};
    mutable std::mutex mutex_;
    std::optional<std::string> error_;
    std::vector<std::function<void()>> on_cancel_;
};

}  // namespace backhaul
