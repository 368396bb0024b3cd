#include "engine/stream_pipeline.hpp"

#include <atomic>
#include <memory>
#include <thread>

#include "engine/chunk_queue.hpp"
#include "errors.hpp"

namespace backhaul {
namespace {

// The bh_output a transform stream writes into: the queue towards the next stage.
struct QueueOutput {
    bh_output output;
    ChunkQueue* queue;

    explicit QueueOutput(ChunkQueue* q) : output{this, &QueueOutput::write}, queue(q) {}

    static bh_status write(void* ctx, const uint8_t* data, size_t len) {
        auto* self = static_cast<QueueOutput*>(ctx);
        if (len == 0) return BH_OK;
        return self->queue->push(Chunk(data, data + len)) ? BH_OK : BH_CANCELLED;
    }
};

// The output lives on the heap: the plugin keeps its address until the stream is closed, which the member order
// ensures happens first.
struct OpenTransform {
    std::unique_ptr<QueueOutput> output;
    TransformStreamHandle stream;
};

}  // namespace

void record_stage_failure(RunControl& control, const std::string& label, const std::string& context,
                          const std::function<void()>& body) {
    try {
        body();
    } catch (const StageFailure& e) {
        // A call that stopped because the run is being cancelled: the cause is reported elsewhere.
        if (e.error().status == BH_CANCELLED && control.cancelled()) return;
        StageError error = e.error();
        error.message += context;
        control.fail(error);
    } catch (const RunError& e) {
        control.fail(std::string(e.what()) + context);
    } catch (const std::exception& e) {
        control.fail(label + ": " + e.what() + context);
    }
}

StreamResult run_stream(RunControl& control, const StreamEnds& ends, const std::vector<PluginInstance*>& transforms,
                        bh_direction direction) {
    StreamResult result;
    const size_t links = transforms.size() + 1;
    // Shared with the cancel callback, which may still be running on the cancelling thread after we return.
    auto queue_storage = std::make_shared<std::vector<std::unique_ptr<ChunkQueue>>>();
    for (size_t i = 0; i < links; ++i) queue_storage->push_back(std::make_unique<ChunkQueue>(kQueueCapacity));
    std::vector<std::unique_ptr<ChunkQueue>>& queues = *queue_storage;

    // Open every transform stream before any thread starts, so an open failure needs no unwinding of threads.
    std::vector<OpenTransform> open;
    open.reserve(transforms.size());
    for (size_t i = 0; i < transforms.size(); ++i) {
        auto output = std::make_unique<QueueOutput>(queues[i + 1].get());
        try {
            TransformStreamHandle stream = transforms[i]->open_transform(direction, output->output);
            open.push_back(OpenTransform{std::move(output), std::move(stream)});
        } catch (const StageFailure& e) {
            StageError error = e.error();
            error.message += ends.context;
            control.fail(error);
            return result;
        }
    }

    const size_t wake_queues = control.on_cancel([queue_storage] {
        for (auto& q : *queue_storage) q->cancel();
    });

    std::atomic<uint64_t> bytes_read{0}, bytes_written{0};
    std::atomic<bool> consumer_saw_end{false};
    std::vector<std::thread> threads;

    threads.emplace_back([&] {
        record_stage_failure(control, ends.producer_label, ends.context, [&] {
            // The source reads into the chunk that is queued, without a copy, once it is full (or at the end): a
            // pipe read often returns far less than asked for, and the queue counts a chunk by its allocation.
            Chunk chunk;
            size_t filled = 0;
            for (;;) {
                if (control.cancelled()) return;
                if (chunk.empty()) chunk.resize(kChunkSize, boost::container::default_init);
                size_t n = ends.read(std::span<uint8_t>(chunk.data() + filled, kChunkSize - filled));
                if (n == 0) break;
                bytes_read += n;
                filled += n;
                if (filled < kChunkSize) continue;
                if (!queues[0]->push(std::move(chunk))) return;
                chunk.clear();
                filled = 0;
            }
            if (filled > 0) {
                chunk.resize(filled);
                if (!queues[0]->push(std::move(chunk))) return;
            }
            queues[0]->close();
        });
    });

    for (size_t i = 0; i < open.size(); ++i) {
        threads.emplace_back([&, i] {
            TransformStreamHandle& stream = open[i].stream;
            record_stage_failure(control, transforms[i]->label(), ends.context, [&] {
                Chunk chunk;
                while (queues[i]->pop(chunk)) stream.write(std::span<const uint8_t>(chunk.data(), chunk.size()));
                if (!queues[i]->finished()) return;  // cancelled upstream
                stream.finish();
                queues[i + 1]->close();
            });
        });
    }

    threads.emplace_back([&] {
        record_stage_failure(control, ends.consumer_label, ends.context, [&] {
            ChunkQueue& in = *queues[links - 1];
            Chunk chunk;
            while (in.pop(chunk)) {
                ends.write(std::span<const uint8_t>(chunk.data(), chunk.size()));
                bytes_written += chunk.size();
            }
            if (in.finished()) consumer_saw_end = true;
        });
    });

    for (std::thread& t : threads) t.join();
    control.forget_callback(wake_queues);
    open.clear();  // closes the transform streams

    result.bytes_read = bytes_read;
    result.bytes_written = bytes_written;
    result.complete = consumer_saw_end && !control.cancelled();
    return result;
}

}  // namespace backhaul
