#include "engine/progress_line.hpp"

#include <unistd.h>

#include <algorithm>
#include <backhaul/common/human_bytes.hpp>
#include <cmath>
#include <cstdio>

#include "util/log.hpp"

namespace backhaul {
namespace {

// Whole seconds: an ETA in hundredths would claim a precision no estimate has.
std::string eta_text(double seconds) {
    const auto s = static_cast<int64_t>(std::ceil(seconds));
    char buf[48];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    return buf;
}

}  // namespace

std::string progress_text(uint64_t read_bytes, uint64_t stored_bytes, double rate, int64_t expected_bytes) {
    const bool known = expected_bytes > 0;
    const auto expected = static_cast<uint64_t>(std::max<int64_t>(expected_bytes, 0));
    std::string text = "read " + common::human_bytes(read_bytes);
    if (known && read_bytes < expected) {
        const uint64_t percent = std::min<uint64_t>(read_bytes * 100 / expected, 99);
        text += " of ~" + common::human_bytes(expected) + " (" + std::to_string(percent) + "%)";
    } else if (known) {
        text += " (past the estimated " + common::human_bytes(expected) + ")";
    }
    text += ", stored " + common::human_bytes(stored_bytes) + ", " +
            common::human_bytes(static_cast<uint64_t>(std::max(rate, 0.0))) + "/s";
    if (known && read_bytes < expected && rate >= 1)
        text += ", ETA " + eta_text(static_cast<double>(expected - read_bytes) / rate);
    return text;
}

ProgressMeter::ProgressMeter(Clock::time_point start, std::chrono::milliseconds window)
    : window_(window), samples_{{start, 0}} {}

std::string ProgressMeter::update(Clock::time_point now, uint64_t read_bytes, uint64_t stored_bytes,
                                  int64_t expected_bytes) {
    samples_.push_back({now, read_bytes});
    while (samples_.size() > 2 && samples_[1].at <= now - window_) samples_.pop_front();
    return progress_text(read_bytes, stored_bytes, rate(), expected_bytes);
}

double ProgressMeter::rate() const {
    const Sample& first = samples_.front();
    const Sample& last = samples_.back();
    const double seconds = std::chrono::duration<double>(last.at - first.at).count();
    if (seconds <= 0 || last.read_bytes < first.read_bytes) return 0;
    return static_cast<double>(last.read_bytes - first.read_bytes) / seconds;
}

bool ProgressLine::wanted() { return ::isatty(STDERR_FILENO) == 1 && Log::format() == LogFormat::text; }

ProgressLine::ProgressLine(const BackupProgress& progress, bool enabled) {
    if (!enabled) return;
    thread_ = std::thread([this, &progress] {
        ProgressMeter meter(ProgressMeter::Clock::now());
        std::unique_lock lock(mutex_);
        while (!stopped_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_; })) {
            Log::set_status(meter.update(ProgressMeter::Clock::now(), progress.raw_bytes, progress.stored_bytes,
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
