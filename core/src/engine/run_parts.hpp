// The pieces a one-stream run (pipeline_run.cpp) and a set's run (set_run.cpp) share. Internal to the engine.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/pipeline_run.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/sink_copies.hpp"
#include "engine/sink_store.hpp"

namespace backhaul {

// A set's backup and restore (docs/sets.md); run_backup and run_restore hand over to them when plan.source_set.
void run_set_backup(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                    std::chrono::system_clock::time_point start, BackupProgress& progress, BackupResult& result);
RestoreResult run_set_restore(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                              const RestoreRequest& request);

namespace run_parts {

// {pipeline}, {ext} (every stage's "ext" concatenated in pipeline order) and every other published variable, with
// `sink` as the sink.
std::map<std::string, std::string> key_variables(const PipelinePlan& plan, const PipelineStages& stages,
                                                 PluginInstance& sink);

[[noreturn]] void throw_first_error(const RunControl& control, const std::string& fallback);

// The manifest's fields every backup fills alike: its owner, key and start, the stages with their options, the
// variables and the version. The run adds sizes, digests (and a set's objects) and the finish time.
BackupManifest manifest_skeleton(const PipelinePlan& plan, const PipelineStages& stages, const SinkPlan& destination,
                                 PluginInstance& sink, const std::string& key,
                                 std::chrono::system_clock::time_point start,
                                 const std::map<std::string, std::string>& variables);

// Renders the sink's key template into result.key (a one-stream backup's key, or a set's), refuses a key reserved
// for metadata, and sets result.identity. Throws RunError.
void render_backup_key(const PipelinePlan& plan, const SinkPlan& sink, std::chrono::system_clock::time_point start,
                       const std::map<std::string, std::string>& variables, SinkCopyResult& result);

// The source's `expected_bytes` variable, if it is a size.
std::optional<int64_t> parse_expected_bytes(const std::map<std::string, std::string>& variables);

// What the sink holds before the run: warns about what retention will never touch, and refuses a key that is taken
// (for a set, anything under "<key>/" too); a stale pending marker of this pipeline under the key is replaced.
BackupCatalog prepare_destination(const PipelinePlan& plan, SinkStore& store, SinkCopyResult& result);

// The run's totals from its copies: the key (the first copy's), whether any copy committed data or is complete, the
// untouched objects of all.
void collect_copies(BackupResult& result);
// " on sinks a, b" for the log when there are several, "" otherwise.
std::string copies_text(SinkCopies& copies);

// Until the manifest is written, leaving the run takes the pending marker away again unless data is still committed:
// then the marker is the proof that this pipeline left the incomplete backup. Through a sink instance of its own,
// like a notifier: after a failure the run's control is cancelled and so is every call of the run's sink.
struct MarkerCleanup {
    const SinkPlan& sink;
    const ValueResolver& secrets;
    const SinkCopyResult& result;
    ~MarkerCleanup();
};

// The decoded stream's destination when restoring to a file ("-" = stdout): a temp file beside it, linked into place
// only on commit, so a failed restore leaves nothing and an existing file is never overwritten.
class OutputFile {
  public:
    explicit OutputFile(const std::filesystem::path& path);
    ~OutputFile();
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    void write(std::span<const uint8_t> data);
    void commit();

  private:
    std::filesystem::path path_;
    std::string temp_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace run_parts
}  // namespace backhaul
