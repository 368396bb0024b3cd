// source-support-probe: its stream is the lower-case hex SHA-256 of what `printf %s TEXT` writes, computed with the
// installed plugin support library (ChildProcess, sha256, hex). install_test.sh compares it with sha256sum's.
#include <algorithm>
#include <array>
#include <backhaul/sdk.hpp>
#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>
#include <backhaul/support/process/child_process.hpp>
#include <memory>
#include <span>
#include <string>
#include <utility>

namespace {

class TextStream : public backhaul::SourceStream {
  public:
    explicit TextStream(std::string text) : text_(std::move(text)) {}

    size_t read(std::span<uint8_t> buffer) override {
        size_t len = std::min(buffer.size(), text_.size() - offset_);
        std::copy_n(text_.begin() + static_cast<std::ptrdiff_t>(offset_), len, buffer.begin());
        offset_ += len;
        return len;
    }

  private:
    std::string text_;
    size_t offset_ = 0;
};

class SupportProbeSource : public backhaul::Source {
  public:
    SupportProbeSource(backhaul::Host host, const backhaul::Options& options)
        : host_(host), text_(options.string("text")) {}

    std::unique_ptr<backhaul::SourceStream> open() override {
        backhaul::ChildSpec spec;
        spec.argv = {"printf", "%s", text_};
        backhaul::ChildProcess child(std::move(spec));
        backhaul::crypto::IncrementalDigest digest(backhaul::crypto::IncrementalDigest::Algorithm::sha256);
        std::array<uint8_t, 4096> buffer;
        auto cancelled = [this] { return host_.cancelled(); };
        while (size_t len = child.read_stdout(buffer, cancelled)) digest.update(std::span(buffer).first(len));
        child.wait_successfully(cancelled);
        return std::make_unique<TextStream>(backhaul::crypto::hex(digest.finish()) + "\n");
    }

    std::unique_ptr<backhaul::RestoreTarget> restore(const backhaul::Options&) override {
        throw backhaul::Error(backhaul::Status::fatal, "source-support-probe does not restore");
    }

  private:
    backhaul::Host host_;
    std::string text_;
};

constexpr bh_option_spec kOptions[] = {
    {"text", BH_OPT_STRING, BH_OPT_REQUIRED | BH_OPT_ARGV, nullptr, nullptr,
     "What `printf %s` prints in a child process; the stream is its SHA-256."},
};

constexpr backhaul::PluginInfo kInfo{
    .name = "source-support-probe",
    .version = "1.0.0",
    .description = "SHA-256 of a child process's output, through Backhaul::plugin_support",
    .options = kOptions,
};

}  // namespace

BACKHAUL_PLUGIN(SupportProbeSource, kInfo);
