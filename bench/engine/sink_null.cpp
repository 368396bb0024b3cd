// sink-null: accepts every byte and stores nothing, so that the engine is all a benchmark measures. It still counts
// what it received and fails the commit on a short stream, so a fast but lossy engine cannot post a good number.
// Benchmark fixture only; never installed with the real plugins.
#include <backhaul/sdk.hpp>
#include <string>

namespace {

class NullUpload final : public backhaul::Upload {
  public:
    explicit NullUpload(uint64_t expect) : expect_(expect) {}
    void write(std::span<const uint8_t> data) override { received_ += data.size(); }
    void commit() override {
        if (expect_ != 0 && received_ != expect_)
            throw backhaul::Error(backhaul::Status::fatal, "sink-null received " + std::to_string(received_) +
                                                               " bytes, expected " + std::to_string(expect_));
    }
    void abort() noexcept override {}

  private:
    uint64_t expect_;
    uint64_t received_ = 0;
};

class NullSink final : public backhaul::Sink {
  public:
    NullSink(backhaul::Host, const backhaul::Options& options) : expect_(options.size("expect")) {}
    std::unique_ptr<backhaul::Upload> begin(const std::string& key, const backhaul::Metadata&) override {
        // The core also stores a small manifest next to each backup; only the backup itself has the expected size.
        return std::make_unique<NullUpload>(key.ends_with(".manifest.json") ? 0 : expect_);
    }
    std::unique_ptr<backhaul::ObjectReader> open_read(const std::string& key) override {
        throw backhaul::Error(backhaul::Status::fatal, "sink-null stores nothing: no " + key);
    }
    void list(const std::string&, const ListSink&) override {}
    backhaul::ObjectInfo stat(const std::string& key) override {
        throw backhaul::Error(backhaul::Status::fatal, "not found: " + key);
    }
    void remove(const std::vector<std::string>&) override {}

  private:
    uint64_t expect_;
};

constexpr bh_option_spec kOptions[] = {
    {"expect", BH_OPT_SIZE, 0, "0", nullptr, "Bytes the commit of a backup (not of its manifest) requires; 0 = any."},
};
constexpr backhaul::PluginInfo kInfo{"sink-null", "0.0.1", "Benchmark fixture: discards everything", kOptions};

}  // namespace

BACKHAUL_PLUGIN(NullSink, kInfo)
