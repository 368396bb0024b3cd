// compress-gzip: gzip compression on backup, decompression on restore, with zlib.
#include <zlib.h>

#include <array>
#include <backhaul/sdk.hpp>
#include <memory>
#include <string>
#include <thread>

#include "gzip_format.hpp"
#include "parallel_gzip_encoder.hpp"

namespace backhaul {
namespace {

using gzip::kGzipWindowBits;
using gzip::kMemLevel;
using gzip::zlib_message;

// The gzip wrapper makes the output a file `gunzip` reads. Decoding accepts gzip only: our own output is all we
// restore.
// zlib writes into this fixed buffer and we hand each full buffer downstream: memory stays bounded by it.
constexpr size_t kOutputBufferSize = 256 * 1024;

const bh_option_spec kOptions[] = {
    {"level", BH_OPT_INT, 0, "6", nullptr,
     "Compression level from 0 (store only) to 9 (smallest output, slowest); 6 is gzip's default."},
    {"threads", BH_OPT_INT, 0, "0", nullptr,
     "Compression threads; 0 uses one per CPU core (as many as the stage's memory share holds), 1 compresses in one "
     "stream on the stage's own thread."},
};
// More workers than this cannot help (each needs a core) and would only multiply the memory in flight.
constexpr int64_t kMaxThreads = 256;
// The host refuses values outside these before create (and in `backhaul validate`).
const bh_option_limits kLimits[] = {
    {"level", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, 9},
    {"threads", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, kMaxThreads},
};
const char* const kVariables[] = {"ext", nullptr};

// Feeds input to deflate or inflate and passes every filled output buffer on.
class ZlibStream : public TransformStream {
  public:
    explicit ZlibStream(Output out) : out_(out) {}

  protected:
    void flush_output() {
        size_t produced = buffer_->size() - stream_.avail_out;
        if (produced > 0) out_.write(std::span<const uint8_t>(buffer_->data(), produced));
        reset_output();
    }
    void reset_output() {
        stream_.next_out = buffer_->data();
        stream_.avail_out = static_cast<uInt>(buffer_->size());
    }
    void set_input(std::span<const uint8_t> data) {
        // zlib never writes through next_in; its API predates const.
        stream_.next_in = const_cast<Bytef*>(data.data());
        stream_.avail_in = static_cast<uInt>(data.size());
    }
    // Hands `data` to zlib and calls `step` until it consumed all of it. avail_in is 32-bit: huge writes go in slices.
    template <class Step>
    void consume(std::span<const uint8_t> data, Step step) {
        constexpr size_t kMaxSlice = 1u << 30;
        while (!data.empty()) {
            std::span<const uint8_t> slice = data.first(std::min(data.size(), kMaxSlice));
            data = data.subspan(slice.size());
            set_input(slice);
            while (stream_.avail_in > 0) step();
        }
    }

    z_stream stream_{};
    std::unique_ptr<std::array<uint8_t, kOutputBufferSize>> buffer_ =
        std::make_unique<std::array<uint8_t, kOutputBufferSize>>();

  private:
    Output out_;
};

class GzipEncoder final : public ZlibStream {
  public:
    GzipEncoder(Output out, int level) : ZlibStream(out) {
        int rc = deflateInit2(&stream_, level, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY);
        if (rc != Z_OK) throw Error(Status::fatal, "cannot start gzip compression: " + zlib_message(stream_, rc));
        reset_output();
    }
    ~GzipEncoder() override { deflateEnd(&stream_); }

    void write(std::span<const uint8_t> data) override {
        consume(data, [&] { run(Z_NO_FLUSH); });
    }

    void finish() override {
        set_input({});
        while (run(Z_FINISH) != Z_STREAM_END) {
        }
        flush_output();
    }

  private:
    int run(int flush) {
        int rc = deflate(&stream_, flush);
        if (rc == Z_STREAM_ERROR) throw Error(Status::fatal, "gzip compression failed: " + zlib_message(stream_, rc));
        if (stream_.avail_out == 0 || rc == Z_STREAM_END) flush_output();
        return rc;
    }
};

class GzipDecoder final : public ZlibStream {
  public:
    explicit GzipDecoder(Output out) : ZlibStream(out) {
        int rc = inflateInit2(&stream_, kGzipWindowBits);
        if (rc != Z_OK) throw Error(Status::fatal, "cannot start gzip decompression: " + zlib_message(stream_, rc));
        reset_output();
    }
    ~GzipDecoder() override { inflateEnd(&stream_); }

    void write(std::span<const uint8_t> data) override {
        consume(data, [&] { step(); });
    }

    void finish() override {
        // Drain what inflate still holds back (it may have stopped on a full output buffer).
        while (in_member_ && step()) {
        }
        flush_output();
        if (in_member_ || !saw_member_) throw Error(Status::fatal, "truncated gzip stream");
    }

  private:
    // One inflate call; returns whether it made progress.
    bool step() {
        if (!in_member_) {
            // More input after a complete member is another member, as gunzip reads concatenated .gz files.
            if (saw_member_) inflateReset(&stream_);
            in_member_ = true;
        }
        uInt in_before = stream_.avail_in;
        uInt out_before = stream_.avail_out;
        int rc = inflate(&stream_, Z_NO_FLUSH);
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR || rc == Z_MEM_ERROR)
            throw Error(Status::fatal, "invalid gzip data: " + zlib_message(stream_, rc));
        if (rc == Z_STREAM_END) {
            in_member_ = false;
            saw_member_ = true;
        }
        if (stream_.avail_out == 0 || rc == Z_STREAM_END) flush_output();
        return rc == Z_STREAM_END || stream_.avail_in != in_before || stream_.avail_out != out_before;
    }

    bool in_member_ = false;
    bool saw_member_ = false;
};

class GzipTransform final : public Transform {
  public:
    GzipTransform(Host host, const Options& options) : level_(options.integer("level")) {
        const int64_t threads = options.integer("threads");
        threads_ = threads != 0 ? static_cast<unsigned>(threads) : std::max(1u, std::thread::hardware_concurrency());
        const uint64_t share = host.memory_share();
        const uint64_t fit = std::max<uint64_t>(1, share / gzip::kParallelWorkerMemory);
        if (share != 0 && threads == 0 && threads_ > fit) {
            host.info(std::to_string(fit) + " of " + std::to_string(threads_) +
                      " threads fit this stage's share of memory_budget; raise memory_budget to use more");
            threads_ = static_cast<unsigned>(fit);
        } else if (share != 0 && threads_ > fit) {
            host.warn("threads = " + std::to_string(threads_) + " needs about " +
                      std::to_string(threads_ * gzip::kParallelWorkerMemory >> 20) + " MiB, more than this stage's " +
                      std::to_string(share >> 20) +
                      " MiB share of memory_budget; raise memory_budget or lower threads");
        }
        host.set_variable("ext", ".gz");
    }

    std::unique_ptr<TransformStream> open(Direction direction, Output out) override {
        if (direction == Direction::decode) return std::make_unique<GzipDecoder>(out);
        if (threads_ == 1) return std::make_unique<GzipEncoder>(out, static_cast<int>(level_));
        return gzip::make_parallel_gzip_encoder(out, static_cast<int>(level_), threads_);
    }

  private:
    int64_t level_;
    unsigned threads_;
};

const PluginInfo kInfo{
    .name = "compress-gzip",
    .version = "0.1.0",
    .description = "Compresses the stream with gzip (zlib); decompresses it on restore.",
    .options = kOptions,
    .variables = kVariables,
    .limits = kLimits,
    .memory_min = 2 * gzip::kParallelWorkerMemory,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::GzipTransform, backhaul::kInfo)
