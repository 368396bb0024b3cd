// The pipeline's `timeout`: a watcher thread that cancels the run when the time is up, through the same
// RunControl::fail as any error, so stages stop and the sink aborts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/run_control.hpp"

namespace backhaul {

// `now` + `limit`, or nullopt if that lies beyond what steady_clock can represent: such a deadline never comes, and
// computing it would wrap into the past (condition_variable::wait_for would then return at once).
std::optional<std::chrono::steady_clock::time_point> deadline_after(std::chrono::steady_clock::time_point now,
                                                                    std::chrono::milliseconds limit);

class RunDeadline {
  public:
    // Does nothing if `limit` is zero or negative; a `limit` too large for the clock never fires.
    RunDeadline(RunControl& control, std::chrono::milliseconds limit, std::string limit_text);
    ~RunDeadline();
    RunDeadline(const RunDeadline&) = delete;
    RunDeadline& operator=(const RunDeadline&) = delete;

  private:
    std::mutex mutex_;
    std::condition_variable stopped_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace backhaul
