// The pipeline timeout's clock arithmetic: a deadline never wraps, so a limit beyond what the clock holds never fires
// instead of firing at once.
#include "engine/run_deadline.hpp"

#include <gtest/gtest.h>

#include <future>

#include "config/option_binding.hpp"

namespace backhaul {
namespace {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

TEST(RunDeadline, DeadlineAfterSaturatesInsteadOfWrapping) {
    const steady::time_point now = steady::now();
    EXPECT_EQ(deadline_after(now, milliseconds(kMaxDurationMs)), now + milliseconds(kMaxDurationMs));
    EXPECT_EQ(deadline_after(now, milliseconds(1)), now + milliseconds(1));
    EXPECT_EQ(deadline_after(now, milliseconds::max()), std::nullopt);
    EXPECT_EQ(deadline_after(now, milliseconds(INT64_MAX / 1000)), std::nullopt);  // fits ms, not ns
    const steady::time_point late = steady::time_point::max() - std::chrono::seconds(2);
    EXPECT_EQ(deadline_after(late, std::chrono::seconds(1)), late + std::chrono::seconds(1));
    EXPECT_EQ(deadline_after(late, std::chrono::seconds(3)), std::nullopt);
}

TEST(RunDeadline, LimitBeyondTheClockNeverFires) {
    RunControl control;
    { const RunDeadline deadline(control, milliseconds::max(), "forever"); }
    EXPECT_EQ(control.error(), std::nullopt);
}

TEST(RunDeadline, ShortLimitStillFires) {
    RunControl control;
    std::promise<void> cancelled;
    control.on_cancel([&] { cancelled.set_value(); });
    const RunDeadline deadline(control, milliseconds(1), "1ms");
    cancelled.get_future().wait();
    EXPECT_EQ(control.error(), "timed out after 1ms (the pipeline's timeout)");
}

}  // namespace
}  // namespace backhaul
