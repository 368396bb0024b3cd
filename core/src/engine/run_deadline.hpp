// The pipeline's `timeout`: a watcher thread that cancels the run when the time is up, through the same
// RunControl::fail as any error, so stages stop and the sink aborts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "engine/run_control.hpp"

namespace backhaul {

class RunDeadline {
public:
    // Does nothing if `limit` is zero or negative.
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
