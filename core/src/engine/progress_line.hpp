// The progress of a backup on a terminal: one line on stderr, redrawn twice a second: bytes read, bytes stored, the
// current rate, and a percentage and ETA when the source announced the raw size with the `expected_bytes` variable.
// Never drawn when stderr is not a terminal or logs are JSON: cron mails and log collectors get log lines only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "engine/pipeline_run.hpp"

namespace backhaul {

// The line for counters as they are now, at `rate` bytes read per second:
//   "read 12.3 MiB, stored 4.1 MiB, 25.0 MiB/s"                                   (size unknown: expected_bytes <= 0)
//   "read 12.3 MiB of ~25.6 MiB (48%), stored 4.1 MiB, 25.0 MiB/s, ETA 1s"         (size known)
//   "read 30.0 MiB (past the estimated 25.6 MiB), stored 9.9 MiB, 25.0 MiB/s"      (the estimate was too small)
// The percentage stops at 99 while bytes are still coming (the end is when the source says so, not the estimate);
// no ETA while nothing moves.
std::string progress_text(uint64_t read_bytes, uint64_t stored_bytes, double rate, int64_t expected_bytes);

// The current rate and the line, from counters sampled at times the caller gives (the clock is injected: tests pass
// their own time points, the progress line steady_clock's). The rate is the bytes read over the last `window`, so it
// follows a source that speeds up or stalls instead of averaging the whole run. Not thread-safe; no I/O.
class ProgressMeter {
  public:
    using Clock = std::chrono::steady_clock;

    explicit ProgressMeter(Clock::time_point start, std::chrono::milliseconds window = std::chrono::seconds(5));

    // Records the counters as of `now` (never before the previous call) and returns the line to draw.
    std::string update(Clock::time_point now, uint64_t read_bytes, uint64_t stored_bytes, int64_t expected_bytes);
    // Bytes read per second over the last window (from the start while the run is younger than it); 0 at first.
    double rate() const;

  private:
    struct Sample {
        Clock::time_point at;
        uint64_t read_bytes;
    };
    std::chrono::milliseconds window_;
    // Oldest first; the front is the newest sample at least `window_` old (or the start), so the rate spans a window.
    std::deque<Sample> samples_;
};

class ProgressLine {
  public:
    // Draws nothing unless `enabled`.
    ProgressLine(const BackupProgress& progress, bool enabled);
    // Erases the line.
    ~ProgressLine();
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    // stderr is a terminal and logs are text.
    static bool wanted();

  private:
    std::mutex mutex_;
    std::condition_variable stopped_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace backhaul
