#include "parallel_gzip_encoder.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gzip_format.hpp"

namespace backhaul::gzip {
namespace {

// Blocks in flight per worker: enough that workers never wait while the stream thread hands output downstream, few
// enough that memory stays at a few hundred KiB per worker.
constexpr size_t kBlocksPerWorker = 4;
// Room for the empty blocks that end a block on a byte boundary, on top of deflateBound().
constexpr size_t kFlushMargin = 64;

struct Block {
    std::vector<uint8_t> dictionary;  // up to 32 KiB of input right before this block
    std::vector<uint8_t> input;
    bool last = false;
    // Written by the worker that compresses the block, read by the stream thread once `done`.
    std::vector<uint8_t> output;
    size_t output_size = 0;
    uLong crc = 0;
    std::string error;
    bool done = false;  // guarded by ParallelGzipEncoder::mutex_
};

// One raw deflate stream (no header, no trailer: the member's framing is written by the stream thread), reused for
// every block a worker compresses. Not movable: zlib's state points back at its z_stream.
class Deflater {
  public:
    explicit Deflater(int level) {
        int rc = deflateInit2(&stream_, level, Z_DEFLATED, -kWindowBits, kMemLevel, Z_DEFAULT_STRATEGY);
        if (rc != Z_OK) throw Error(Status::fatal, "cannot start gzip compression: " + zlib_message(stream_, rc));
    }
    ~Deflater() { deflateEnd(&stream_); }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    void compress(Block& block) {
        block.crc = crc32_z(crc32_z(0, nullptr, 0), block.input.data(), block.input.size());
        check(deflateReset(&stream_));
        if (!block.dictionary.empty())
            check(deflateSetDictionary(&stream_, block.dictionary.data(), static_cast<uInt>(block.dictionary.size())));
        block.output.resize(deflateBound(&stream_, block.input.size()) + kFlushMargin);
        block.output_size = 0;
        // zlib never writes through next_in; its API predates const.
        stream_.next_in = const_cast<Bytef*>(block.input.data());
        stream_.avail_in = static_cast<uInt>(block.input.size());
        if (block.last) {
            run(block, Z_FINISH);
            return;
        }
        // Z_BLOCK ends the deflate block without ending the stream, but may leave up to 7 bits unwritten. The next
        // block's data must start on a byte boundary, so pad with empty blocks: an odd bit count needs an empty
        // stored block (Z_SYNC_FLUSH); an even one is rounded up with 10-bit empty static blocks, which are smaller.
        run(block, Z_BLOCK);
        int bits = 0;
        check(deflatePending(&stream_, nullptr, &bits));
        if (bits & 1) {
            run(block, Z_SYNC_FLUSH);
        } else if (bits & 7) {
            constexpr int kEmptyStaticBlock = 2;  // BFINAL 0, BTYPE 01, then the 7-bit end-of-block code 0
            do {
                check(deflatePrime(&stream_, 10, kEmptyStaticBlock));
                check(deflatePending(&stream_, nullptr, &bits));
            } while (bits & 7);
            run(block, Z_BLOCK);
        }
    }

  private:
    void check(int rc) {
        if (rc != Z_OK) throw Error(Status::fatal, "gzip compression failed: " + zlib_message(stream_, rc));
    }

    // Deflates until all input is consumed and `flush` is complete, growing the output if zlib runs out of room.
    void run(Block& block, int flush) {
        for (;;) {
            if (block.output_size == block.output.size()) block.output.resize(block.output.size() * 2);
            stream_.next_out = block.output.data() + block.output_size;
            stream_.avail_out = static_cast<uInt>(block.output.size() - block.output_size);
            int rc = deflate(&stream_, flush);
            if (rc == Z_STREAM_ERROR) check(rc);
            block.output_size = block.output.size() - stream_.avail_out;
            bool complete = flush == Z_FINISH ? rc == Z_STREAM_END : stream_.avail_in == 0 && stream_.avail_out != 0;
            if (complete) return;
        }
    }

    z_stream stream_{};
};

class ParallelGzipEncoder final : public TransformStream {
  public:
    ParallelGzipEncoder(Output out, int level, unsigned workers)
        : out_(out), level_(level), max_in_flight_(kBlocksPerWorker * workers) {
        current_ = new_block();
        for (unsigned i = 0; i < workers; ++i) deflaters_.push_back(std::make_unique<Deflater>(level));
        try {
            for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { work(*deflaters_[i]); });
        } catch (...) {
            stop_workers();  // the destructor does not run for a constructor that throws
            throw;
        }
    }

    // Stops and joins the workers before the blocks they might still be compressing are freed.
    ~ParallelGzipEncoder() override { stop_workers(); }

    void write(std::span<const uint8_t> data) override {
        stop_on_failure([&] {
            while (!data.empty()) {
                // A full block is handed over only once more input shows it is not the last one.
                if (current_->input.size() == kParallelBlockSize) submit_current(false);
                size_t take = std::min(data.size(), kParallelBlockSize - current_->input.size());
                current_->input.insert(current_->input.end(), data.begin(), data.begin() + take);
                data = data.subspan(take);
            }
        });
    }

    void finish() override {
        stop_on_failure([&] {
            submit_current(true);
            while (!in_flight_.empty()) write_oldest(true);
            std::array<uint8_t, 8> trailer{};
            store_le32(trailer.data(), static_cast<uint32_t>(crc_));
            store_le32(trailer.data() + 4, static_cast<uint32_t>(total_in_));  // ISIZE is the size modulo 2^32
            out_.write(trailer);
            stop_workers();
        });
    }

  private:
    // After any failure (cancelled output, a compression error) the workers are stopped and joined at once, not
    // only when the host gets round to closing the stream.
    template <class Body>
    void stop_on_failure(Body&& body) {
        try {
            body();
        } catch (...) {
            stop_workers();
            throw;
        }
    }

    static void store_le32(uint8_t* at, uint32_t value) {
        for (int i = 0; i < 4; ++i) at[i] = static_cast<uint8_t>(value >> (8 * i));
    }

    std::unique_ptr<Block> new_block() {
        std::unique_ptr<Block> block;
        if (spare_.empty()) {
            block = std::make_unique<Block>();
            block->input.reserve(kParallelBlockSize);
        } else {
            block = std::move(spare_.back());
            spare_.pop_back();
        }
        block->dictionary.clear();
        block->input.clear();
        block->last = false;
        block->error.clear();
        block->done = false;
        return block;
    }

    void submit_current(bool last) {
        if (threads_.empty()) throw Error(Status::fatal, "gzip stream cannot continue after an earlier failure");
        while (in_flight_.size() >= max_in_flight_) write_oldest(true);
        std::unique_ptr<Block> next = new_block();
        if (!last) {
            size_t history = std::min(kWindowSize, current_->input.size());
            next->dictionary.assign(current_->input.end() - static_cast<ptrdiff_t>(history), current_->input.end());
        }
        current_->last = last;
        {
            std::lock_guard lock(mutex_);
            waiting_.push_back(current_.get());
        }
        work_ready_.notify_one();
        in_flight_.push_back(std::move(current_));
        current_ = std::move(next);
        // Pass on whatever is already compressed, so output flows while the input keeps coming.
        while (!in_flight_.empty() && write_oldest(false)) {
        }
    }

    // Writes the oldest block in flight downstream, waiting for it if `wait`; returns whether it wrote it.
    bool write_oldest(bool wait) {
        Block& block = *in_flight_.front();
        {
            std::unique_lock lock(mutex_);
            if (!wait && !block.done) return false;
            block_done_.wait(lock, [&] { return block.done; });
        }
        if (!block.error.empty()) throw Error(Status::fatal, block.error);
        if (!header_written_) {
            // Magic, deflate, no flags, no mtime, XFL as zlib sets it for the level, OS = Unix: what zlib writes.
            const std::array<uint8_t, 10> header{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extra_flags(level_), 3};
            out_.write(header);
            header_written_ = true;
        }
        out_.write(std::span<const uint8_t>(block.output.data(), block.output_size));
        crc_ = crc32_combine(crc_, block.crc, static_cast<z_off_t>(block.input.size()));
        total_in_ += block.input.size();
        spare_.push_back(std::move(in_flight_.front()));
        in_flight_.pop_front();
        return true;
    }

    void work(Deflater& deflater) {
        for (;;) {
            Block* block = nullptr;
            {
                std::unique_lock lock(mutex_);
                work_ready_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
                if (stopping_) return;
                block = waiting_.front();
                waiting_.pop_front();
            }
            try {
                deflater.compress(*block);
            } catch (const std::exception& e) {
                block->error = e.what();
            }
            {
                std::lock_guard lock(mutex_);
                block->done = true;
            }
            block_done_.notify_all();
        }
    }

    void stop_workers() noexcept {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        work_ready_.notify_all();
        for (std::thread& thread : threads_) thread.join();
        threads_.clear();
    }

    Output out_;
    int level_;
    size_t max_in_flight_;
    std::unique_ptr<Block> current_;                    // being filled by write()
    std::deque<std::unique_ptr<Block>> in_flight_;      // submitted, in input order; owned by the stream thread
    std::vector<std::unique_ptr<Block>> spare_;         // written blocks kept for reuse, so buffers are allocated once
    std::vector<std::unique_ptr<Deflater>> deflaters_;  // one per worker
    uLong crc_ = crc32(0, nullptr, 0);
    uint64_t total_in_ = 0;
    bool header_written_ = false;

    std::mutex mutex_;  // guards waiting_, stopping_ and every Block::done
    std::condition_variable work_ready_;
    std::condition_variable block_done_;
    std::deque<Block*> waiting_;  // submitted blocks no worker has taken yet
    bool stopping_ = false;
    std::vector<std::thread> threads_;  // joined in the destructor body, before the members they use go
};

}  // namespace

std::unique_ptr<TransformStream> make_parallel_gzip_encoder(Output out, int level, unsigned workers) {
    return std::make_unique<ParallelGzipEncoder>(out, level, workers);
}

}  // namespace backhaul::gzip
