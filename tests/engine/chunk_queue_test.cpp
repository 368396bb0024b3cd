#include "engine/chunk_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace backhaul {
namespace {

using namespace std::chrono_literals;

TEST(ChunkQueue, DeliversInOrderThenEndsAfterClose) {
    ChunkQueue q(100);
    ASSERT_TRUE(q.push(Chunk{1, 2}));
    ASSERT_TRUE(q.push(Chunk{3}));
    q.close();
    Chunk c;
    ASSERT_TRUE(q.pop(c));
    EXPECT_EQ(c, (Chunk{1, 2}));
    EXPECT_FALSE(q.finished());
    ASSERT_TRUE(q.pop(c));
    EXPECT_EQ(c, (Chunk{3}));
    EXPECT_FALSE(q.pop(c));
    EXPECT_TRUE(q.finished());
}

TEST(ChunkQueue, FullQueueBlocksProducerUntilConsumerTakes) {
    ChunkQueue q(10);
    ASSERT_TRUE(q.push(Chunk(8)));
    std::atomic<bool> pushed{false};
    std::thread producer([&] {
        q.push(Chunk(8));  // 8 + 8 > 10: must wait
        pushed = true;
    });
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(pushed.load());
    Chunk c;
    ASSERT_TRUE(q.pop(c));
    producer.join();
    EXPECT_TRUE(pushed.load());
}

TEST(ChunkQueue, OversizedChunkPassesAnEmptyQueue) {
    ChunkQueue q(4);
    ASSERT_TRUE(q.push(Chunk(100)));
    Chunk c;
    ASSERT_TRUE(q.pop(c));
    EXPECT_EQ(c.size(), 100u);
}

TEST(ChunkQueue, CancelWakesBlockedProducerAndConsumer) {
    ChunkQueue full(1), empty(1);
    ASSERT_TRUE(full.push(Chunk(1)));
    std::atomic<int> returned{0};
    bool push_result = true, pop_result = true;
    std::thread producer([&] {
        push_result = full.push(Chunk(1));
        ++returned;
    });
    std::thread consumer([&] {
        Chunk c;
        pop_result = empty.pop(c);
        ++returned;
    });
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(returned.load(), 0);
    full.cancel();
    empty.cancel();
    producer.join();
    consumer.join();
    EXPECT_FALSE(push_result);
    EXPECT_FALSE(pop_result);
    EXPECT_FALSE(empty.finished());
}

}  // namespace
}  // namespace backhaul
