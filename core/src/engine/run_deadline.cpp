#include "engine/run_deadline.hpp"

namespace backhaul {

std::optional<std::chrono::steady_clock::time_point> deadline_after(std::chrono::steady_clock::time_point now,
                                                                    std::chrono::milliseconds limit) {
    using clock = std::chrono::steady_clock;
    // Compared in milliseconds, where neither side can overflow: the room left before the clock's maximum.
    const auto room = std::chrono::floor<std::chrono::milliseconds>(clock::time_point::max() - now);
    if (limit >= room) return std::nullopt;
    return now + limit;
}

RunDeadline::RunDeadline(RunControl& control, std::chrono::milliseconds limit, std::string limit_text) {
    if (limit.count() <= 0) return;
    const std::optional<std::chrono::steady_clock::time_point> deadline =
        deadline_after(std::chrono::steady_clock::now(), limit);
    if (!deadline) return;
    thread_ = std::thread([this, &control, at = *deadline, text = std::move(limit_text)] {
        std::unique_lock lock(mutex_);
        if (stopped_.wait_until(lock, at, [this] { return stop_; })) return;
        lock.unlock();
        control.interrupt("timed out after " + text + " (the pipeline's timeout)");
    });
}

RunDeadline::~RunDeadline() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    stopped_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace backhaul
