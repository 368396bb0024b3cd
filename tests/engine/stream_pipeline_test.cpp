// run_stream itself, without plugins: what reaches the consumer for a producer whose reads return little at a time,
// as a pipe's do.
#include "engine/stream_pipeline.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/run_control.hpp"

namespace backhaul {
namespace {

// Bytes of a pattern that does not repeat at any chunk boundary, handed out `piece` at a time.
struct TricklingProducer {
    uint64_t total;
    size_t piece;
    uint64_t produced = 0;

    static uint8_t byte_at(uint64_t offset) { return static_cast<uint8_t>((offset * 2654435761u) >> 13); }

    size_t read(std::span<uint8_t> buffer) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>({buffer.size(), piece, total - produced}));
        for (size_t i = 0; i < n; ++i) buffer[i] = byte_at(produced + i);
        produced += n;
        return n;
    }
};

TEST(RunStream, SmallReadsReachTheConsumerWholeAndInChunksOfFullSize) {
    RunControl control;
    const uint64_t total = 2 * kChunkSize + 4099;
    TricklingProducer producer{total, 65536 + 3};
    std::vector<size_t> writes;
    uint64_t consumed = 0;
    bool in_order = true;
    StreamEnds ends;
    ends.producer_label = "source";
    ends.read = [&](std::span<uint8_t> buffer) { return producer.read(buffer); };
    ends.consumer_label = "sink";
    ends.write = [&](std::span<const uint8_t> data) {
        writes.push_back(data.size());
        for (uint8_t byte : data) in_order = in_order && byte == TricklingProducer::byte_at(consumed++);
    };

    StreamResult result = run_stream(control, ends, {}, BH_ENCODE);
    EXPECT_TRUE(result.complete);
    EXPECT_EQ(result.bytes_read, total);
    EXPECT_EQ(result.bytes_written, total);
    EXPECT_EQ(consumed, total);
    EXPECT_TRUE(in_order) << "the consumer saw bytes out of order or changed";
    // Reads of 64 KiB are gathered into whole chunks: the queue's accounting by allocation stays exact, and the
    // consumer is not woken for every read.
    EXPECT_THAT(writes, ::testing::ElementsAre(kChunkSize, kChunkSize, 4099u));
}

TEST(RunStream, AnEmptySourceIsACompleteEmptyStream) {
    RunControl control;
    TricklingProducer producer{0, 1};
    size_t writes = 0;
    StreamEnds ends;
    ends.read = [&](std::span<uint8_t> buffer) { return producer.read(buffer); };
    ends.write = [&](std::span<const uint8_t>) { ++writes; };
    StreamResult result = run_stream(control, ends, {}, BH_ENCODE);
    EXPECT_TRUE(result.complete);
    EXPECT_EQ(result.bytes_written, 0u);
    EXPECT_EQ(writes, 0u);
}

}  // namespace
}  // namespace backhaul
