// Turns SIGINT, SIGTERM and SIGHUP into a clean cancellation of the run: the signals are blocked in every thread
// (install() must run before any thread starts) and a watcher thread takes them with sigtimedwait and fails the run,
// so stages stop, the sink aborts and nothing is committed.
#pragma once

#include <atomic>
#include <thread>

#include "engine/run_control.hpp"

namespace backhaul {

class SignalWatch {
public:
    // Blocks the signals in the calling thread (inherited by threads started later) and ignores SIGPIPE, so a closed
    // pipe is an EPIPE error where it happens. Children must reset both (source-command does).
    static void install();

    explicit SignalWatch(RunControl& control);
    ~SignalWatch();
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace backhaul
