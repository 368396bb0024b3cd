// source-random under Backhaul's source contract (the installed contract kit): the backup must be exactly `size`
// bytes of xorshift64 from `seed`, which this file computes on its own.
#include <gtest/gtest.h>

#include <backhaul/testkit/targets.hpp>
#include <cstdint>

namespace {

constexpr uint64_t kSize = 3 * 1024 * 1024 + 5;
constexpr uint64_t kSeed = 42;

// The published sequence (README): xorshift64 with shifts 13, 7, 17, each word's bytes low byte first.
std::string expected_bytes() {
    std::string out;
    out.reserve(kSize);
    uint64_t state = kSeed;
    while (out.size() < kSize) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        for (int i = 0; i < 8 && out.size() < kSize; ++i) out += static_cast<char>((state >> (8 * i)) & 0xff);
    }
    return out;
}

class RandomSourceTarget : public backhaul::testkit::SourceTarget {
  public:
    std::string plugin() const override { return "source-random"; }
    backhaul::testkit::SourceSetup prepare(const std::filesystem::path&) override {
        backhaul::testkit::SourceSetup setup;
        setup.options = "size = " + std::to_string(kSize) + "\nseed = " + std::to_string(kSeed) + "\n";
        return setup;
    }
    void check_backup(const std::filesystem::path&, const std::string& backup) override {
        ASSERT_EQ(backup.size(), kSize);
        EXPECT_TRUE(backup == expected_bytes()) << "the backup is not the published sequence";
    }
    // Valid options cannot make it fail: it only computes.
    std::optional<backhaul::testkit::SourceSetup> prepare_failing(const std::filesystem::path&) override {
        return std::nullopt;
    }
};

}  // namespace

BACKHAUL_TESTKIT_SOURCE(RandomSourceTarget)
