// The progress of a backup on a terminal: one line on stderr, redrawn twice a second (bytes read, bytes stored,
// rate, and an ETA when the source announced the raw size with the `expected_bytes` variable). Never drawn when
// stderr is not a terminal or logs are JSON: cron mails and log collectors get log lines only.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "engine/pipeline_run.hpp"

namespace backhaul {

// "read 12.3 MiB, stored 4.1 MiB, 25.0 MiB/s, 48% ETA 0m42s" (no percentage and ETA when expected_bytes < 0).
std::string progress_text(uint64_t read_bytes, uint64_t stored_bytes, double seconds, int64_t expected_bytes);

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
