// Turns SIGINT, SIGTERM and SIGHUP into a clean stop of the run: the signals are blocked in every thread (install()
// must run before any thread starts) and a watcher thread takes them from a signalfd and interrupts the run, so stages
// stop, the sink aborts and nothing is committed. Inside a commit (CommitShield) the interrupt waits for the manifest.
#pragma once

#include <atomic>
#include <mutex>
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
    // Takes every signal already sent and hands it to the run. Reading and interrupting happen under one mutex, so
    // once take() returns on any thread, every signal sent before it has reached RunControl: the run settles this at
    // the end of a commit shield, deterministically.
    void take();

    RunControl& control_;
    int fd_ = -1;
    std::mutex mutex_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace backhaul
