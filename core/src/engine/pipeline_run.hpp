// Backup and restore runs of a planned pipeline.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/backup_manifest.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/retention_plan.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

// Live counters of a backup run, read by the progress line from another thread while the run streams.
struct BackupProgress {
    std::atomic<uint64_t> raw_bytes{0};     // produced by the source so far
    std::atomic<uint64_t> stored_bytes{0};  // handed to the sink so far
    // From the source's `expected_bytes` variable (e.g. the database size), for the ETA; -1 if unknown.
    std::atomic<int64_t> expected_raw_bytes{-1};
};

// One sink's copy of a backup (docs/sets.md, "Several sinks"), filled in as it goes.
struct SinkCopyResult {
    std::string sink;  // the sink's name
    bool required = true;
    std::string key;                // "" until the key was rendered
    bool data_committed = false;    // some of its data is stored (a set: an object; otherwise the object)
    bool manifest_written = false;  // this copy is complete
    std::string error;              // why this copy failed on its own while the run went on; "" if it did not
    // The key template's variables of this copy ({database}, ...): what makes a listed backup this run's kind.
    std::map<std::string, std::string> identity;
    // Objects under the key template that this pipeline will never delete by itself, as listed before the run.
    size_t untouched_objects = 0;
};

// What a backup run did, filled in as it goes so that a failed run can still report its key and sizes.
struct BackupResult {
    std::vector<SinkCopyResult> copies;  // one per sink, in plan.sinks order
    std::string key;              // the first copy's key (all copies': the same unless the sinks' key templates differ)
    uint64_t raw_bytes = 0;       // produced by the source
    uint64_t stored_bytes = 0;    // handed to the sink
    std::string sha256;           // of the stored bytes; set once the stream completed
    bool data_committed = false;  // by any copy
    bool manifest_written = false;  // some copy is complete
    // Set when this backup is shrunken (retention_plan.hpp): what it was compared with, on the first sink that had
    // a previous backup.
    std::optional<ShrinkFinding> shrunken;
    // Of every copy, summed.
    size_t untouched_objects = 0;
    // Streams of the run: 1 for a one-stream backup once its key is known; a set's count once listed.
    size_t stream_count = 0;
    // A set's committed objects, as its manifest lists them (raw_bytes/stored_bytes above are their totals, sha256
    // the set's digest).
    std::vector<ManifestObject> objects;
};

// The name of the source variable that announces the size of the raw stream (see sdk/README.md, "Variables").
inline constexpr const char* kExpectedBytesVariable = "expected_bytes";

// A source that backs up a set (plan.source_set) is run as docs/sets.md says: its streams up to `jobs` at once, each
// object committed as its stream completes, the manifest listing them last; on any failure the objects this run
// committed are removed again.
// Otherwise: creates every stage with `secrets`, lists what the sink holds (warning about objects retention will not
// touch), writes this run's pending marker, streams source -> transforms -> sink, commits only if every stage succeeded
// and the source produced data (or allow_empty), then writes the manifest "<key>.manifest.json" and removes the marker.
// From the commit request to the manifest, signals and the timeout are held back (CommitShield).
// Each sink writes its own copy of every stream (teed, with bounded memory): a failure of one sink abandons only its
// copy (result.copies[i].error) while the others go on; the run fails once no copy is left. Returns if some copy is
// complete, even if another failed (the caller decides what that means); otherwise throws RunError with the first
// error. `result` says how far the run got.
void run_backup(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                std::chrono::system_clock::time_point start, BackupProgress& progress, BackupResult& result);

struct RestoreRequest {
    std::string key;
    // Write the decoded stream to this file ("-" = stdout) instead of the source's restore target.
    std::optional<std::filesystem::path> output;
    // The source's restore options from the command line: --name [value].
    std::vector<std::pair<std::string, std::optional<std::string>>> target_options;
    // A set: restore only the streams whose `database` variable is one of these, and/or the stream "globals"; with
    // neither, every stream. `output` is then a directory.
    std::vector<std::string> databases;
    bool globals = false;
    // The copy to read (one of plan.sinks); null: the first sink.
    const SinkPlan* sink = nullptr;

    const SinkPlan& sink_plan(const PipelinePlan& plan) const { return sink ? *sink : plan.sinks.front(); }
};

struct RestoreResult {
    uint64_t stored_bytes = 0;                  // read from the sink
    uint64_t restored_bytes = 0;                // handed to the target after decoding
    std::vector<std::string> restored_streams;  // a set's, in the order they completed
};

// A set (plan.source_set): reads the set's manifest (which must be this pipeline's), restores the selected streams
// phase by phase, up to `jobs` at once, each checked against the manifest's size and SHA-256 before its target
// finishes; on failure the error says which streams were restored.
// Otherwise: reads `key` from the sink, decodes through the transforms in reverse order and feeds the source's restore
// target (or the output file). Throws RunError with the first error; the target is aborted on failure.
RestoreResult run_restore(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                          const RestoreRequest& request);

}  // namespace backhaul
