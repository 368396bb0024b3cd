// source-null: `size` bytes of zeros, produced as fast as memset allows, so that the engine (queues, threads, copies)
// is all a benchmark measures. Benchmark fixture only; never installed with the real plugins.
#include <algorithm>
#include <backhaul/sdk.hpp>
#include <cstring>

namespace {

class ZeroStream : public backhaul::SourceStream {
  public:
    explicit ZeroStream(uint64_t size) : remaining_(size) {}

    size_t read(std::span<uint8_t> buffer) override {
        size_t len = static_cast<size_t>(std::min<uint64_t>(buffer.size(), remaining_));
        std::memset(buffer.data(), 0, len);
        remaining_ -= len;
        return len;
    }

  private:
    uint64_t remaining_;
};

class NullSource : public backhaul::Source {
  public:
    NullSource(backhaul::Host, const backhaul::Options& options) : size_(options.size("size")) {}
    std::unique_ptr<backhaul::SourceStream> open() override { return std::make_unique<ZeroStream>(size_); }
    std::unique_ptr<backhaul::RestoreTarget> restore(const backhaul::Options&) override {
        throw backhaul::Error(backhaul::Status::fatal, "source-null cannot restore");
    }

  private:
    uint64_t size_;
};

constexpr bh_option_spec kOptions[] = {
    {"size", BH_OPT_SIZE, BH_OPT_REQUIRED, nullptr, nullptr, "Bytes of zeros to produce, e.g. \"4GiB\"."},
};
constexpr backhaul::PluginInfo kInfo{"source-null", "0.0.1", "Benchmark fixture: zeros, as fast as possible", kOptions};

}  // namespace

BACKHAUL_PLUGIN(NullSource, kInfo)
