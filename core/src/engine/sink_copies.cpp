#include "engine/sink_copies.hpp"

#include "engine/pipeline_stages.hpp"
#include "engine/stream_pipeline.hpp"
#include "util/log.hpp"

namespace backhaul {

SinkCopies::SinkCopies(const PipelinePlan& plan, RunControl& run, const ValueResolver& secrets, BackupResult& result)
    : run_(run) {
    result.copies.clear();
    result.copies.reserve(plan.sinks.size());  // copies_ point into it
    for (const SinkPlan& sink : plan.sinks) {
        SinkCopyResult& copy_result = result.copies.emplace_back();
        copy_result.sink = sink.name();
        copy_result.required = sink.spec->required;
        auto copy = std::make_unique<SinkCopy>(sink, copy_result);
        copy->sink = create_stage(sink.stage, secrets, copy->control);
        copy->store = std::make_unique<SinkStore>(sink, *copy->sink);
        cancel_links_.push_back(run_.on_cancel([own = copy->shared_control] { own->fail("cancelled with the run"); }));
        copies_.push_back(std::move(copy));
    }
}

SinkCopies::~SinkCopies() {
    for (size_t id : cancel_links_) run_.forget_callback(id);
}

size_t SinkCopies::live_count() const {
    size_t live = 0;
    for (const auto& copy : copies_) live += copy->live() ? 1 : 0;
    return live;
}

bool SinkCopies::attempt(SinkCopy& copy, const std::function<void()>& step, const std::string& context) {
    if (!copy.live()) return false;
    // Whether the step itself succeeded, not whether the copy is still live after it: a commit that succeeded while
    // another stream's failure cancelled the run is a committed object, which the run must know of to remove it.
    bool succeeded = false;
    record_stage_failure(copy.control, copy.destination.label(), context, [&] {
        step();
        succeeded = true;
    });
    if (!succeeded && !copy.live()) copy_failed(copy);
    return succeeded;
}

void SinkCopies::for_each(const std::function<void(SinkCopy&)>& step, const std::string& context) {
    for (auto& copy : copies_)
        attempt(
            *copy, [&] { step(*copy); }, context);
}

void SinkCopies::fail(SinkCopy& copy, const std::string& message) {
    if (!copy.live()) return;
    copy.control.fail(message);
    copy_failed(copy);
}

void SinkCopies::copy_failed(SinkCopy& copy) {
    if (run_.cancelled()) return;  // the run's own failure is what is reported, not its consequences
    std::string message = copy.control.error().value_or("failed");
    {
        std::lock_guard lock(mutex_);
        if (!copy.result.error.empty()) return;
        copy.result.error = message;
    }
    if (live_count() == 0) {
        // No copy left to write: the run fails with this error, as a pipeline with one sink always did.
        run_.fail(copy.control.failure().value_or(RunFailure{message, std::nullopt, false}));
        return;
    }
    const std::string what = copy.result.required ? "failed" : "failed (required = false)";
    const std::string line = "sink '" + copy.result.sink + "' " + what +
                             "; its copy is abandoned and the other "
                             "sinks go on: " +
                             message;
    if (copy.result.required)
        Log::error(line);
    else
        Log::warn(line);
}

StreamUploads::StreamUploads(SinkCopies& copies, const std::function<std::string(SinkCopy&)>& key_of,
                             std::span<const bh_kv> metadata, std::string context)
    : copies_(copies), context_(std::move(context)) {
    for (auto& copy : copies.all()) {
        auto upload = std::make_unique<Upload>();
        upload->copy = copy.get();
        copies.attempt(
            *copy, [&] { upload->handle.emplace(copy->sink->begin(key_of(*copy), metadata)); }, context_);
        if (upload->handle) uploads_.push_back(std::move(upload));
    }
    if (uploads_.size() < 2) return;
    for (auto& upload : uploads_) {
        upload->queue = std::make_shared<ChunkQueue>(kQueueCapacity);
        upload->cancel_link = upload->copy->control.on_cancel([queue = upload->queue] { queue->cancel(); });
        upload->writer = std::thread([this, u = upload.get()] {
            Chunk chunk;
            while (u->queue->pop(chunk))
                if (!copies_.attempt(
                        *u->copy, [&] { u->handle->write(std::span<const uint8_t>(chunk.data(), chunk.size())); },
                        context_))
                    break;
            u->queue->cancel();  // a copy that stopped takes no more chunks: the tee never blocks on it
        });
    }
}

StreamUploads::~StreamUploads() {
    stop_writers();
    for (auto& upload : uploads_)
        if (upload->queue) upload->copy->control.forget_callback(upload->cancel_link);
    // The handles go now, on this thread: every upload not committed is aborted.
}

void StreamUploads::stop_writers() {
    for (auto& upload : uploads_) {
        if (!upload->writer.joinable()) continue;
        upload->queue->cancel();
        upload->writer.join();
    }
}

void StreamUploads::write(std::span<const uint8_t> data) {
    if (data.empty()) return;
    if (uploads_.size() == 1) {
        Upload& u = *uploads_.front();
        copies_.attempt(
            *u.copy, [&] { u.handle->write(data); }, context_);
        return;
    }
    for (auto& upload : uploads_)
        if (upload->copy->live()) upload->queue->push(Chunk(data.begin(), data.end()));  // false: that copy stopped
}

void StreamUploads::drain() {
    for (auto& upload : uploads_) {
        if (!upload->writer.joinable()) continue;
        upload->queue->close();
        upload->writer.join();
    }
}

void StreamUploads::commit(const std::function<void(SinkCopy&)>& committed) {
    for (auto& upload : uploads_) {
        SinkCopy& copy = *upload->copy;
        if (copies_.attempt(
                copy, [&] { upload->handle->commit(); }, context_))
            committed(copy);
    }
}

}  // namespace backhaul
