// StageHost, the bh_host of one plugin instance: the error behind a failed call is the calling thread's, so the
// streams of one instance failing at once on their own threads each report their own.
#include "engine/stage_host.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace backhaul {
namespace {

void set_error(const StageHost& host, const char* message) { host.raw()->set_error(host.raw()->ctx, message, nullptr); }

TEST(StageHost, each_thread_takes_the_error_it_reported) {
    RunControl control;
    StageHost host("source (source-test)", control);
    std::string first, second;
    // Thread a stays alive while b runs: a finished thread's id may be reused.
    std::promise<void> a_reported, b_done;
    std::thread a([&] {
        set_error(host, "stream a failed");
        a_reported.set_value();
        b_done.get_future().wait();
    });
    a_reported.get_future().wait();
    std::thread b([&] {
        set_error(host, "stream b failed");
        second = host.take_error();
    });
    b.join();
    // Thread a's message waited for it; b took only its own.
    EXPECT_EQ(second, "stream b failed");
    b_done.set_value();
    a.join();
    first = host.take_error();  // a thread that reported nothing gets the latest pending one
    EXPECT_EQ(first, "stream a failed");
    EXPECT_EQ(host.take_error(), "");
}

TEST(StageHost, an_error_is_taken_once_and_a_later_one_replaces_it_on_the_same_thread) {
    RunControl control;
    StageHost host("sink (sink-test)", control);
    set_error(host, "first");
    set_error(host, "second\nline");
    EXPECT_EQ(host.take_error(), "second line");
    EXPECT_EQ(host.take_error(), "");
}

TEST(StageHost, answers_memory_share_with_the_stages_share) {
    RunControl control;
    StageHost buffering("sink (sink-test)", control, 16 << 20);
    ASSERT_GE(buffering.raw()->struct_size, offsetof(bh_host, memory_share) + sizeof(bh_host::memory_share));
    EXPECT_EQ(buffering.raw()->memory_share(buffering.raw()->ctx), uint64_t{16} << 20);
    StageHost fixed("source (source-test)", control);
    EXPECT_EQ(fixed.raw()->memory_share(fixed.raw()->ctx), 0u);
}

}  // namespace
}  // namespace backhaul
