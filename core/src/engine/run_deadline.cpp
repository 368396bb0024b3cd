#include "engine/run_deadline.hpp"

namespace backhaul {

RunDeadline::RunDeadline(RunControl& control, std::chrono::milliseconds limit, std::string limit_text) {
    if (limit.count() <= 0) return;
    thread_ = std::thread([this, &control, limit, text = std::move(limit_text)] {
        std::unique_lock lock(mutex_);
        if (stopped_.wait_for(lock, limit, [this] { return stop_; })) return;
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
