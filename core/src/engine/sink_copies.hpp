// A backup's copies, one per sink (docs/sets.md, "Several sinks"), and the tee that writes every stream to each of
// them. Internal to the engine: the one-stream run and a set's run both write through it, so one sink behaves the same
// in both and several sinks need no second code path.
//
// Each copy has its own RunControl: a failure of one sink cancels only that sink's calls and abandons only its copy,
// while the source and the other sinks go on; a cancel of the run (a failing source or transform, a signal, the
// timeout) cancels every copy. Once no copy is left, the run fails with the first copy's error, so a pipeline with one
// sink fails exactly as it always did.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/backup_catalog.hpp"
#include "engine/chunk_queue.hpp"
#include "engine/pipeline_run.hpp"
#include "engine/plugin_instance.hpp"
#include "engine/sink_store.hpp"

namespace backhaul {

struct SinkCopy {
    const SinkPlan& destination;
    SinkCopyResult& result;
    // This copy's own control, cancelled with the run's. Shared with the run's cancel callback, which a signal may run
    // on its own thread while the copies go away.
    std::shared_ptr<RunControl> shared_control = std::make_shared<RunControl>();
    RunControl& control = *shared_control;
    std::unique_ptr<PluginInstance> sink;
    std::unique_ptr<SinkStore> store;
    BackupCatalog before;                          // what the sink held before the run
    std::map<std::string, std::string> variables;  // the key variables, with this sink's
    std::vector<std::string> object_keys;          // a set's, in stream order
    std::vector<std::string> committed;            // a set's objects this copy committed

    SinkCopy(const SinkPlan& destination, SinkCopyResult& result) : destination(destination), result(result) {}
    // Still going: neither failed on its own nor cancelled with the run.
    bool live() const { return !control.cancelled(); }
};

class SinkCopies {
  public:
    // Creates an instance of every sink of `plan` (throws RunError or ConfigError as create_stage does) and fills
    // result.copies.
    SinkCopies(const PipelinePlan& plan, RunControl& run, const ValueResolver& secrets, BackupResult& result);
    ~SinkCopies();
    SinkCopies(const SinkCopies&) = delete;
    SinkCopies& operator=(const SinkCopies&) = delete;

    std::vector<std::unique_ptr<SinkCopy>>& all() { return copies_; }

    // Runs `step` for `copy` if it is live. Any exception fails that copy only (logged; the run fails once no copy is
    // left); `context` is appended to its message. Returns whether the step ran and succeeded. Thread-safe for
    // different copies and for one copy's writer thread.
    bool attempt(SinkCopy& copy, const std::function<void()>& step, const std::string& context = "");
    // attempt() on every live copy, in sink order, on this thread.
    void for_each(const std::function<void(SinkCopy&)>& step, const std::string& context = "");
    // Fails `copy` with `message` (a decision of the run, e.g. a stream that does not match), as attempt() does.
    void fail(SinkCopy& copy, const std::string& message);

    size_t live_count() const;

  private:
    void copy_failed(SinkCopy& copy);

    RunControl& run_;
    std::vector<std::unique_ptr<SinkCopy>> copies_;
    std::vector<size_t> cancel_links_;  // run_.on_cancel ids, one per copy
    mutable std::mutex mutex_;
};

// One stream's upload on every live copy: write() tees each chunk to all of them. With one copy the chunk goes
// straight to its upload on the caller's thread, as before there were several sinks; with more, each copy has a
// bounded queue (kQueueCapacity) and a writer thread, so the sinks upload in parallel, a slow sink slows the source
// through its full queue, and memory stays bounded.
class StreamUploads {
  public:
    // Begins an upload of key_of(copy) on every live copy (main thread); a copy whose begin fails is failed.
    StreamUploads(SinkCopies& copies, const std::function<std::string(SinkCopy&)>& key_of,
                  std::span<const bh_kv> metadata, std::string context);
    ~StreamUploads();  // stops and joins the writers, aborts every upload not committed (main thread)
    StreamUploads(const StreamUploads&) = delete;
    StreamUploads& operator=(const StreamUploads&) = delete;

    // The stream's next bytes, from the consumer thread. Never throws: a failing sink fails its copy.
    void write(std::span<const uint8_t> data);
    // After the last write, on the consumer thread: waits until every copy has written everything it was given.
    void drain();
    // Commits every live copy's upload (main thread), each failure failing only its copy; `committed(copy)` after
    // each commit that succeeded.
    void commit(const std::function<void(SinkCopy&)>& committed);

  private:
    struct Upload {
        SinkCopy* copy = nullptr;
        std::optional<UploadHandle> handle;
        std::shared_ptr<ChunkQueue> queue;  // shared with the copy's cancel callback
        size_t cancel_link = 0;
        std::thread writer;
    };
    void stop_writers();

    SinkCopies& copies_;
    std::string context_;
    std::vector<std::unique_ptr<Upload>> uploads_;
};

}  // namespace backhaul
