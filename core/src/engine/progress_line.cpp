#include "engine/progress_line.hpp"

#include <unistd.h>

#include <cstdio>

#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {

std::string progress_text(uint64_t read_bytes, uint64_t stored_bytes, double seconds, int64_t expected_bytes) {
    double rate = seconds > 0 ? static_cast<double>(read_bytes) / seconds : 0;
    std::string text = "read " + human_bytes(read_bytes) + ", stored " + human_bytes(stored_bytes) + ", " +
                       human_bytes(static_cast<uint64_t>(rate)) + "/s";
    if (expected_bytes > 0) {
        double done = static_cast<double>(read_bytes) / static_cast<double>(expected_bytes);
        char percent[16];
        std::snprintf(percent, sizeof percent, "%d%%", static_cast<int>(done >= 1 ? 100 : done * 100));
        text += std::string(", ") + percent;
        if (rate > 0 && read_bytes < static_cast<uint64_t>(expected_bytes)) {
            double left = static_cast<double>(static_cast<uint64_t>(expected_bytes) - read_bytes) / rate;
            text += " ETA " + human_duration(static_cast<int64_t>(left * 1000));
        }
    }
    return text;
}

bool ProgressLine::wanted() { return ::isatty(STDERR_FILENO) == 1 && Log::format() == LogFormat::text; }

ProgressLine::ProgressLine(const BackupProgress& progress, bool enabled) {
    if (!enabled) return;
    thread_ = std::thread([this, &progress] {
        auto start = std::chrono::steady_clock::now();
        std::unique_lock lock(mutex_);
        while (!stopped_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_; })) {
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            Log::set_status(progress_text(progress.raw_bytes, progress.stored_bytes, seconds,
                                          progress.expected_raw_bytes));
        }
    });
}

ProgressLine::~ProgressLine() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    stopped_.notify_all();
    thread_.join();
    Log::set_status("");
}

}  // namespace backhaul
