// compress-zstd: zstd compression on backup (multi-threaded by libzstd itself), decompression on restore.
#include <zstd.h>

#include <backhaul/sdk.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace backhaul {
namespace {

constexpr int64_t kMinLevel = 1;
constexpr int64_t kMaxLevel = 19;
// libzstd's smallest window (ZSTD_WINDOWLOG_MIN), and the largest every zstd decoder accepts without being told
// (ZSTD_WINDOWLOG_LIMIT_DEFAULT): a larger `long` would make `zstd -d` refuse our backups unless the operator knew to
// pass --long=N. Both macros are in zstd.h's experimental section, so their values are spelled out here.
constexpr int64_t kMinWindowLog = 10;
constexpr int64_t kMaxWindowLog = 27;

const bh_option_spec kOptions[] = {
    {"level", BH_OPT_INT, 0, "3", nullptr,
     "Compression level from 1 (fastest) to 19 (smallest output, slowest); 3 is zstd's default."},
    {"threads", BH_OPT_INT, 0, "0", nullptr, "Compression worker threads; 0 uses one per CPU core."},
    {"long", BH_OPT_INT, 0, nullptr, nullptr,
     "Long-distance matching with a window of 2^long bytes (10 to 27); unset or 0 leaves it off."},
};
// libzstd's ZSTDMT_NBWORKERS_MAX on 64-bit builds (the macro is in zstd.h's experimental section).
constexpr int64_t kMaxThreads = 256;
const bh_option_limits kLimits[] = {
    {"level", BH_LIMIT_MIN | BH_LIMIT_MAX, kMinLevel, kMaxLevel},
    {"threads", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, kMaxThreads},
    {"long", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, kMaxWindowLog},
};
const char* const kVariables[] = {"ext", nullptr};

// Throws when a libzstd call returned an error code; returns the code otherwise.
size_t checked(size_t code, const std::string& what) {
    if (ZSTD_isError(code)) throw Error(Status::fatal, what + ": " + ZSTD_getErrorName(code));
    return code;
}

struct CCtxDeleter {
    void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DCtxDeleter {
    void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

struct EncoderSettings {
    int level;
    int workers;
    int window_log;  // 0 = long-distance matching off
};

class ZstdEncoder final : public TransformStream {
  public:
    ZstdEncoder(Output out, const EncoderSettings& settings)
        : out_(out), context_(ZSTD_createCCtx()), buffer_(ZSTD_CStreamOutSize()) {
        if (!context_) throw Error(Status::fatal, "cannot start zstd compression: out of memory");
        set(ZSTD_c_compressionLevel, settings.level);
        set(ZSTD_c_checksumFlag, 1);
        // Fails if libzstd was built without thread support: say so instead of silently compressing on one thread.
        set(ZSTD_c_nbWorkers, settings.workers);
        if (settings.window_log != 0) {
            set(ZSTD_c_enableLongDistanceMatching, 1);
            set(ZSTD_c_windowLog, settings.window_log);
        }
    }
    // Freeing the context stops and joins libzstd's worker threads, whether or not the frame was finished.

    void write(std::span<const uint8_t> data) override {
        ZSTD_inBuffer input{data.data(), data.size(), 0};
        while (input.pos < input.size) compress(input, ZSTD_e_continue);
    }

    void finish() override {
        ZSTD_inBuffer input{nullptr, 0, 0};
        while (compress(input, ZSTD_e_end) != 0) {
        }
    }

  private:
    void set(ZSTD_cParameter parameter, int value) {
        checked(ZSTD_CCtx_setParameter(context_.get(), parameter, value), "cannot configure zstd compression");
    }

    // One call into libzstd; returns how much it still has to flush (0 = all flushed, for ZSTD_e_end).
    size_t compress(ZSTD_inBuffer& input, ZSTD_EndDirective mode) {
        ZSTD_outBuffer output{buffer_.data(), buffer_.size(), 0};
        size_t remaining =
            checked(ZSTD_compressStream2(context_.get(), &output, &input, mode), "zstd compression failed");
        out_.write(std::span<const uint8_t>(buffer_.data(), output.pos));
        return remaining;
    }

    Output out_;
    std::unique_ptr<ZSTD_CCtx, CCtxDeleter> context_;
    std::vector<uint8_t> buffer_;
};

class ZstdDecoder final : public TransformStream {
  public:
    explicit ZstdDecoder(Output out) : out_(out), context_(ZSTD_createDCtx()), buffer_(ZSTD_DStreamOutSize()) {
        if (!context_) throw Error(Status::fatal, "cannot start zstd decompression: out of memory");
        // Accept every window the encoder can be configured to use, whatever `long` the restoring pipeline says now.
        checked(ZSTD_DCtx_setParameter(context_.get(), ZSTD_d_windowLogMax, static_cast<int>(kMaxWindowLog)),
                "cannot configure zstd decompression");
    }

    void write(std::span<const uint8_t> data) override {
        if (data.empty()) return;
        ZSTD_inBuffer input{data.data(), data.size(), 0};
        // A full output buffer may hide more decoded bytes even once the input is consumed; a result of 0 means the
        // frame is complete and flushed, so there is nothing left to ask for.
        bool output_full = false;
        do {
            ZSTD_outBuffer output{buffer_.data(), buffer_.size(), 0};
            size_t result = ZSTD_decompressStream(context_.get(), &output, &input);
            if (ZSTD_isError(result))
                throw Error(Status::fatal, std::string("invalid zstd data: ") + ZSTD_getErrorName(result));
            frame_complete_ = result == 0;
            out_.write(std::span<const uint8_t>(buffer_.data(), output.pos));
            output_full = output.pos == output.size;
        } while (input.pos < input.size || (output_full && !frame_complete_));
    }

    void finish() override {
        // Several concatenated frames decode one after the other; the input must end exactly at the end of one.
        if (!frame_complete_) throw Error(Status::fatal, "truncated zstd stream");
    }

  private:
    Output out_;
    std::unique_ptr<ZSTD_DCtx, DCtxDeleter> context_;
    std::vector<uint8_t> buffer_;
    bool frame_complete_ = false;  // also false before any input: an empty stream is not a zstd stream
};

class ZstdTransform final : public Transform {
  public:
    // The host checks kLimits; what they cannot say is that `long` is 0 (off) or a window log of at least 10.
    static void validate(const Options& options, Problems& problems) {
        if (!options.known("long")) return;
        const int64_t window_log = options.integer("long");
        if (window_log != 0 && window_log < kMinWindowLog)
            problems.add("long", "must be 0 (off) or a window log between " + std::to_string(kMinWindowLog) + " and " +
                                     std::to_string(kMaxWindowLog) + ", got " + std::to_string(window_log));
    }

    ZstdTransform(Host host, const Options& options) {
        settings_.level = static_cast<int>(options.integer("level"));
        const int64_t threads = options.integer("threads");
        settings_.workers =
            static_cast<int>(threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency()));
        if (options.has("long")) settings_.window_log = static_cast<int>(options.integer("long"));
        host.set_variable("ext", ".zst");
    }

    std::unique_ptr<TransformStream> open(Direction direction, Output out) override {
        if (direction == Direction::encode) return std::make_unique<ZstdEncoder>(out, settings_);
        return std::make_unique<ZstdDecoder>(out);
    }

  private:
    EncoderSettings settings_{};
};

const PluginInfo kInfo{
    .name = "compress-zstd",
    .version = "0.1.0",
    .description = "Compresses the stream with zstd on several threads; decompresses it on restore.",
    .options = kOptions,
    .variables = kVariables,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::ZstdTransform, backhaul::kInfo)
