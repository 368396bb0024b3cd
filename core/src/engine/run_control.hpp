// Shared state of one run: whether it is being cancelled, and the first error, which is the one reported.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loader/plugin_handle.hpp"

namespace backhaul {

// Why a run stopped: the first error, as a value.
struct RunFailure {
    std::string message;              // the one line reported: "transform[0] (compress-gzip): invalid gzip data"
    std::optional<StageError> stage;  // the plugin call that failed, when it was one
    bool interrupted = false;         // a stop from outside the run: a signal or the timeout (interrupt())
};

class RunControl {
  public:
    bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

    // Records `message` as the run's error if it is the first one, then cancels every stage. Later errors are
    // consequences (a stage seeing its neighbour stop) and are dropped. Thread-safe.
    void fail(const std::string& message) { fail(RunFailure{message, std::nullopt, false}); }
    void fail(const StageError& error) { fail(RunFailure{error.line(), error, false}); }
    void fail(RunFailure failure) {
        std::vector<std::pair<size_t, std::function<void()>>> callbacks;
        {
            std::lock_guard lock(mutex_);
            if (!failure_) failure_ = std::move(failure);
            if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
            callbacks.swap(on_cancel_);
        }
        for (auto& [id, callback] : callbacks) callback();
    }

    // A stop requested from outside the run (a signal, the timeout). Inside a commit shield it is held back until the
    // shield ends: a commit request that was sent is seen through, with its manifest, and the run then reports the
    // interruption truthfully instead of "nothing committed". Thread-safe.
    void interrupt(const std::string& message) {
        {
            std::lock_guard lock(mutex_);
            if (shields_ > 0) {
                if (!deferred_) deferred_ = message;
                return;
            }
        }
        fail(RunFailure{message, std::nullopt, true});
    }

    // See CommitShield.
    void raise_shield() {
        std::lock_guard lock(mutex_);
        ++shields_;
    }
    void lower_shield() {
        if (settle_) settle_();  // signals already sent reach interrupt() while the shield still holds them
        std::optional<std::string> deferred;
        {
            std::lock_guard lock(mutex_);
            if (--shields_ == 0) deferred.swap(deferred_);
        }
        if (deferred) fail(RunFailure{*deferred, std::nullopt, true});
    }

    // Called as a shield comes down, to hand over stops that are in flight (SignalWatch). Set it before the run
    // starts its threads and clear it before `settle` goes away; not thread-safe otherwise.
    void set_settle(std::function<void()> settle) { settle_ = std::move(settle); }

    // Runs `callback` once when the run is cancelled (at once if it already is), e.g. to wake threads blocked on a
    // queue. Callbacks run on the thread that cancels. Returns the callback's id for forget_callback.
    size_t on_cancel(std::function<void()> callback) {
        {
            std::lock_guard lock(mutex_);
            const size_t id = ++last_callback_id_;
            if (!cancelled_.load(std::memory_order_acquire)) {
                on_cancel_.emplace_back(id, std::move(callback));
                return id;
            }
        }
        callback();
        return 0;
    }

    // Forgets one callback (its target is going away): the streams of a set each register their own and finish at
    // different times. Call before destroying what it references.
    void forget_callback(size_t id) {
        std::lock_guard lock(mutex_);
        std::erase_if(on_cancel_, [id](const auto& entry) { return entry.first == id; });
    }

    // The first error's line.
    std::optional<std::string> error() const {
        std::lock_guard lock(mutex_);
        if (!failure_) return std::nullopt;
        return failure_->message;
    }
    std::optional<RunFailure> failure() const {
        std::lock_guard lock(mutex_);
        return failure_;
    }

  private:
    std::atomic<bool> cancelled_{false};
    mutable std::mutex mutex_;
    std::optional<RunFailure> failure_;
    std::vector<std::pair<size_t, std::function<void()>>> on_cancel_;
    size_t last_callback_id_ = 0;
    int shields_ = 0;
    std::function<void()> settle_;
    std::optional<std::string> deferred_;  // an interrupt that arrived inside a shield
};

// While one exists, interrupt() is deferred (errors of the run itself still cancel at once). Held from just before a
// commit request until the manifest is written: the window where stopping would leave data without its manifest.
class CommitShield {
  public:
    explicit CommitShield(RunControl& control) : control_(control) { control_.raise_shield(); }
    ~CommitShield() { control_.lower_shield(); }
    CommitShield(const CommitShield&) = delete;
    CommitShield& operator=(const CommitShield&) = delete;

  private:
    RunControl& control_;
};

}  // namespace backhaul
