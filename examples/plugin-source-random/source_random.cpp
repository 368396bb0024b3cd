// source-random: a deterministic pseudo-random byte stream of a given size. Its restore direction regenerates the same
// sequence and checks every byte it receives, so a backup → restore round trip proves the pipeline is lossless
// without storing the original anywhere.
#include <algorithm>
#include <backhaul/sdk.hpp>
#include <string>

namespace {

// xorshift64 (Marsaglia, 2003): deterministic on every platform, and cheap enough that the generator is never the
// slowest stage.
class ByteSequence {
  public:
    explicit ByteSequence(uint64_t seed) : state_(seed) {}

    uint8_t next() {
        if (bytes_left_in_word_ == 0) {
            state_ ^= state_ << 13;
            state_ ^= state_ >> 7;
            state_ ^= state_ << 17;
            word_ = state_;
            bytes_left_in_word_ = 8;
        }
        uint8_t byte = static_cast<uint8_t>(word_);
        word_ >>= 8;
        --bytes_left_in_word_;
        return byte;
    }

  private:
    uint64_t state_;
    uint64_t word_ = 0;
    int bytes_left_in_word_ = 0;
};

class RandomStream : public backhaul::SourceStream {
  public:
    RandomStream(uint64_t size, uint64_t seed) : remaining_(size), sequence_(seed) {}

    size_t read(std::span<uint8_t> buffer) override {
        size_t len = static_cast<size_t>(std::min<uint64_t>(buffer.size(), remaining_));
        for (size_t i = 0; i < len; ++i) buffer[i] = sequence_.next();
        remaining_ -= len;
        return len;  // 0 once `size` bytes were produced: end of stream
    }

  private:
    uint64_t remaining_;
    ByteSequence sequence_;
};

// Fails at the first byte that differs, so the error names the exact offset; a short stream fails in finish().
class VerifyingTarget : public backhaul::RestoreTarget {
  public:
    VerifyingTarget(uint64_t size, uint64_t seed) : size_(size), sequence_(seed) {}

    void write(std::span<const uint8_t> data) override {
        for (uint8_t byte : data) {
            if (offset_ == size_)
                throw backhaul::Error(backhaul::Status::fatal, "restored stream is longer than the expected " +
                                                                   std::to_string(size_) + " bytes");
            if (byte != sequence_.next())
                throw backhaul::Error(
                    backhaul::Status::fatal,
                    "restored stream differs from the generated one at byte " + std::to_string(offset_));
            ++offset_;
        }
    }

    void finish() override {
        if (offset_ != size_)
            throw backhaul::Error(backhaul::Status::fatal, "restored stream has " + std::to_string(offset_) +
                                                               " bytes, expected " + std::to_string(size_));
    }

  private:
    uint64_t size_;
    uint64_t offset_ = 0;
    ByteSequence sequence_;
};

class RandomSource : public backhaul::Source {
  public:
    RandomSource(backhaul::Host host, const backhaul::Options& options)
        : host_(host), size_(options.size("size")), seed_(static_cast<uint64_t>(options.integer("seed"))) {
        // xorshift64 maps 0 to 0 forever: reject it here, where the host reports it as an invalid pipeline.
        if (seed_ == 0) throw backhaul::invalid_config("seed must not be 0");
    }

    std::unique_ptr<backhaul::SourceStream> open() override {
        host_.set_variable("seed", std::to_string(seed_));
        return std::make_unique<RandomStream>(size_, seed_);
    }

    std::unique_ptr<backhaul::RestoreTarget> restore(const backhaul::Options&) override {
        return std::make_unique<VerifyingTarget>(size_, seed_);
    }

  private:
    backhaul::Host host_;
    uint64_t size_;
    uint64_t seed_;
};

constexpr bh_option_spec kOptions[] = {
    {"size", BH_OPT_SIZE, BH_OPT_REQUIRED, nullptr, nullptr, "Bytes to produce, e.g. \"3MiB\"."},
    {"seed", BH_OPT_INT, 0, "1", nullptr, "Seed of the sequence; the same seed gives the same bytes. Not 0."},
};
constexpr const char* kVariables[] = {"seed", nullptr};

constexpr backhaul::PluginInfo kInfo{
    .name = "source-random",
    .version = "1.0.0",
    .description = "Deterministic pseudo-random bytes; restore verifies them",
    .options = kOptions,
    .variables = kVariables,
};

}  // namespace

BACKHAUL_PLUGIN(RandomSource, kInfo);
