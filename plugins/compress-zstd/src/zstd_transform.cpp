// compress-zstd: zstd compression on backup (multi-threaded by libzstd itself), decompression on restore.
#include <zstd.h>

#include <algorithm>
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
    {"threads", BH_OPT_INT, 0, "0", nullptr,
     "Compression worker threads; 0 uses one per CPU core (as many as the stage's memory share holds)."},
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

// ---- Memory (docs/memory.md) ----------------------------------------------------------------------------------
// libzstd's multi-threaded compressor holds, per worker, a compression context and the jobs it is given: input (the
// job plus the window it overlaps with), output, and a few jobs queued ahead. Its default job size at level 3 is large
// enough that 2 workers take 60 MiB, so the job size is what this plugin sizes from its share of the memory budget.
// The model below was fitted to the peak RSS of libzstd 1.5.4 at levels 3 and 9 with 1, 2 and 4 workers and jobs of
// 512 KiB to 2 MiB, and is above every one of those measurements:
//     bytes = 1 MiB + workers x 1.5 x context(level) + job x (4 + 2 x workers) + 1.5 x window(level)
// context() and window() are libzstd's ZSTD_estimateCCtxSize(level) and ZSTD_getCParams(level).windowLog, spelled out
// because both are in zstd.h's experimental section, which a shared libzstd does not promise to keep. Levels above 9
// use more than the model says (level 19: about 1.3 x); docs/memory.md says so.
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kContextKiB[] = {568,   760,   1272,  2552,  3576,  3576,  6648,  6648,  12792, 25080,
                                    25080, 49656, 49656, 49656, 66040, 66040, 66040, 66040, 83199};
constexpr int kWindowLog[] = {19, 20, 21, 21, 21, 21, 21, 21, 22, 22, 22, 22, 22, 22, 22, 22, 23, 23, 23};
// libzstd raises a smaller job size to this (ZSTDMT_JOBSIZE_MIN); the largest is where a bigger job stops paying.
constexpr uint64_t kMinJobSize = 512 * 1024;
constexpr uint64_t kMaxJobSize = 8 * kMiB;
// About what one worker at level 3 takes with 512 KiB jobs; the host refuses a budget that cannot give it.
constexpr uint64_t kMemoryMin = 10 * kMiB;

uint64_t encoder_memory(int level, int workers, int window_log, uint64_t job_size) {
    const auto w = static_cast<uint64_t>(workers);
    const uint64_t window = uint64_t{1} << std::max(window_log, kWindowLog[level - 1]);
    return kMiB + w * kContextKiB[level - 1] * 1536 + job_size * (4 + 2 * w) + window * 3 / 2;
}

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
    int window_log;     // 0 = long-distance matching off
    uint64_t job_size;  // 0 = libzstd's default (a host without memory budgets)
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
        if (settings.job_size != 0) set(ZSTD_c_jobSize, static_cast<int>(settings.job_size));
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
        fit_memory(host, threads == 0);
        host.set_variable("ext", ".zst");
    }

    std::unique_ptr<TransformStream> open(Direction direction, Output out) override {
        if (direction == Direction::encode) return std::make_unique<ZstdEncoder>(out, settings_);
        return std::make_unique<ZstdDecoder>(out);
    }

  private:
    // The largest job size (at most kMaxJobSize) whose encoder fits the share; with `threads = 0`, fewer workers than
    // cores when even the smallest jobs do not fit them all. What still does not fit (an explicit `threads`, a high
    // level, a `long` window) is said once as a warning: the run goes on as configured.
    void fit_memory(Host host, bool automatic_workers) {
        const uint64_t share = host.memory_share();
        if (share == 0) return;
        const auto fits = [&](int workers, uint64_t job) {
            return encoder_memory(settings_.level, workers, settings_.window_log, job) <= share;
        };
        if (automatic_workers) {
            const int cores = settings_.workers;
            while (settings_.workers > 1 && !fits(settings_.workers, kMinJobSize)) --settings_.workers;
            if (settings_.workers < cores)
                host.info(std::to_string(settings_.workers) + " of " + std::to_string(cores) +
                          " threads fit this stage's share of memory_budget; raise memory_budget to use more");
        }
        settings_.job_size = kMinJobSize;
        for (uint64_t job = kMaxJobSize; job > kMinJobSize; job -= kMinJobSize / 2)
            if (fits(settings_.workers, job)) {
                settings_.job_size = job;
                break;
            }
        const uint64_t needs = encoder_memory(settings_.level, settings_.workers, settings_.window_log, kMinJobSize);
        if (needs > share)
            host.warn("level " + std::to_string(settings_.level) + " with " + std::to_string(settings_.workers) +
                      " thread(s)" +
                      (settings_.window_log ? " and long = " + std::to_string(settings_.window_log) : "") +
                      " needs about " + std::to_string(needs / kMiB) + " MiB, more than this stage's " +
                      std::to_string(share / kMiB) +
                      " MiB share of memory_budget; raise memory_budget or lower level, threads or long");
        host.debug("memory share " + std::to_string(share / 1024) + " KiB: " + std::to_string(settings_.workers) +
                   " worker(s), jobs of " + std::to_string(settings_.job_size / 1024) + " KiB");
    }

    EncoderSettings settings_{};
};

const PluginInfo kInfo{
    .name = "compress-zstd",
    .version = "0.1.0",
    .description = "Compresses the stream with zstd on several threads; decompresses it on restore.",
    .options = kOptions,
    .variables = kVariables,
    .limits = kLimits,
    .memory_min = kMemoryMin,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::ZstdTransform, backhaul::kInfo)
