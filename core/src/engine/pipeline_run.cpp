#include "engine/pipeline_run.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <backhaul/common/digest.hpp>
#include <backhaul/common/encoding.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>

#include "config/option_binding.hpp"
#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/plugin_instance.hpp"
#include "engine/run_parts.hpp"
#include "engine/sink_store.hpp"
#include "engine/stream_pipeline.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace run_parts {

// {pipeline}, {ext} (every stage's "ext" concatenated in pipeline order) and every other published variable.
std::map<std::string, std::string> key_variables(const PipelinePlan& plan, const PipelineStages& stages,
                                                 PluginInstance& sink) {
    std::map<std::string, std::string> vars;
    std::string ext;
    auto add = [&](PluginInstance& stage) {
        for (const auto& [name, value] : stage.host().variables()) {
            if (name == "ext")
                ext += value;
            else
                vars[name] = value;
        }
    };
    add(*stages.source);
    for (const auto& t : stages.transforms) add(*t);
    add(sink);
    vars["pipeline"] = plan.spec.name;
    vars["ext"] = ext;
    return vars;
}

[[noreturn]] void throw_first_error(const RunControl& control, const std::string& fallback) {
    throw RunError(control.error().value_or(fallback));
}

namespace {
ManifestStage manifest_stage(const PluginInstance& stage, const std::string& role) {
    const bh_plugin_descriptor& d = stage.descriptor();
    return ManifestStage{role, d.name, d.version ? d.version : "", stage.options().display()};
}
}  // namespace

BackupManifest manifest_skeleton(const PipelinePlan& plan, const PipelineStages& stages, const SinkPlan& destination,
                                 PluginInstance& sink, const std::string& key,
                                 std::chrono::system_clock::time_point start,
                                 const std::map<std::string, std::string>& variables) {
    BackupManifest manifest;
    manifest.pipeline = plan.spec.name;
    manifest.destination = destination_fingerprint(destination);
    manifest.key = key;
    manifest.started_unix_ms = unix_ms(start);
    manifest.stages.push_back(manifest_stage(*stages.source, "source"));
    for (size_t i = 0; i < stages.transforms.size(); ++i)
        manifest.stages.push_back(manifest_stage(*stages.transforms[i], plan.transforms[i].spec->label));
    manifest.stages.push_back(manifest_stage(sink, "sink"));
    manifest.variables = variables;
    manifest.backhaul_version = BACKHAUL_VERSION;
    return manifest;
}

void render_backup_key(const PipelinePlan& plan, const SinkPlan& sink, std::chrono::system_clock::time_point start,
                       const std::map<std::string, std::string>& variables, SinkCopyResult& result) {
    try {
        result.key = sink.key.render(start, plan.spec.timezone, variables);
    } catch (const std::exception& e) {
        throw RunError(sink.label() + ": key: " + e.what());
    }
    if (is_metadata_key(result.key))
        throw RunError(sink.label() + ": key: '" + result.key + "' ends in '" + std::string(kManifestSuffix) +
                       "' or '" + std::string(kPendingSuffix) + "', which are reserved for Backhaul's metadata");
    result.identity = identity_of(sink.key, variables);
}

std::optional<int64_t> parse_expected_bytes(const std::map<std::string, std::string>& variables) {
    auto it = variables.find(kExpectedBytesVariable);
    if (it == variables.end()) return std::nullopt;
    int64_t value = 0;
    auto [end, error] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    if (error != std::errc() || end != it->second.data() + it->second.size() || value < 0) return std::nullopt;
    return value;
}

// What the sink holds before the run: warns about what retention will never touch, and refuses a key that is taken
// (sinks check again at commit; this saves streaming for an hour first). A stale pending marker of this pipeline
// under the key (a run that never got to commit) is replaced.
BackupCatalog prepare_destination(const PipelinePlan& plan, SinkStore& store, SinkCopyResult& result) {
    const SinkPlan& sink = store.destination();
    const std::string set_prefix = result.key + "/";
    BackupCatalog catalog;
    std::vector<StoredObject> under_key;
    try {
        catalog = list_backups(plan, store);
        under_key = store.list(result.key);
    } catch (const RunError& e) {
        // Write-only credentials (no ListBucket) are a good practice against ransomware: back up all the same. The
        // sink's commit still refuses to replace an object.
        Log::warn(std::string("cannot list the destination, so the checks for an existing key and a shrunken backup "
                              "are skipped: ") +
                  e.what());
        return catalog;
    }
    result.untouched_objects = catalog.count(BackupStatus::incomplete) + catalog.count(BackupStatus::unknown) +
                               catalog.count(BackupStatus::foreign);
    if (result.untouched_objects > 0)
        Log::warn(std::to_string(result.untouched_objects) +
                  " object(s) under the key template are not complete "
                  "backups of this pipeline (" +
                  std::to_string(catalog.count(BackupStatus::incomplete)) + " incomplete, " +
                  std::to_string(catalog.count(BackupStatus::unknown)) + " without manifest, " +
                  std::to_string(catalog.count(BackupStatus::foreign)) +
                  " of other pipelines); retention never deletes them by itself: see `backhaul list`");
    for (const StoredObject& o : under_key) {
        if (o.key == result.key || o.key == manifest_key(result.key) ||
            (plan.source_set && o.key.compare(0, set_prefix.size(), set_prefix) == 0))
            throw RunError(sink.label() + ": key '" + o.key +
                           "' already exists; a run never replaces an object (add %S to the key, or see "
                           "docs/pipeline.md on repeated keys)");
        if (o.key != pending_key(result.key)) continue;
        PendingMarker stale;
        try {
            stale = PendingMarker::from_json(store.read_all(o.key, kManifestMaxBytes));
        } catch (const std::exception& e) {
            throw RunError(sink.label() + ": '" + o.key + "' exists and is not a pending marker: " + e.what());
        }
        if (stale.pipeline != plan.spec.name || stale.destination != destination_fingerprint(sink))
            throw RunError(sink.label() + ": '" + o.key + "' is another pipeline's pending marker");
        store.remove({o.key});
    }
    return catalog;
}

void collect_copies(BackupResult& result) {
    result.key.clear();
    result.data_committed = result.manifest_written = false;
    result.untouched_objects = 0;
    for (const SinkCopyResult& copy : result.copies) {
        if (result.key.empty()) result.key = copy.key;
        result.data_committed = result.data_committed || copy.data_committed;
        result.manifest_written = result.manifest_written || copy.manifest_written;
        result.untouched_objects += copy.untouched_objects;
    }
}

std::string copies_text(SinkCopies& copies) {
    if (copies.all().size() < 2) return "";
    std::string names;
    for (const auto& copy : copies.all())
        if (copy->live()) names += (names.empty() ? "" : ", ") + copy->result.sink;
    return " on sinks " + names;
}

MarkerCleanup::~MarkerCleanup() {
    if (result.data_committed && !result.manifest_written) return;
    try {
        RunControl own;
        std::unique_ptr<PluginInstance> instance = create_stage(sink.stage, secrets, own);
        SinkStore(sink, *instance).remove({pending_key(result.key)});
    } catch (const std::exception& e) {
        Log::warn("could not remove the pending marker '" + pending_key(result.key) + "': " + e.what());
    }
}

}  // namespace run_parts

using namespace run_parts;

void run_backup(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                std::chrono::system_clock::time_point start, BackupProgress& progress, BackupResult& result) {
    if (plan.source_set) return run_set_backup(plan, control, secrets, start, progress, result);
    PipelineStages stages = create_stages(plan, secrets, control, StageSelection::all, nullptr);
    SinkCopies copies(plan, control, secrets, result);
    PluginInstance& source = *stages.source;

    SourceStreamHandle source_stream = source.open_source();
    if (auto expected = parse_expected_bytes(source.host().variables())) progress.expected_raw_bytes = *expected;

    std::vector<std::unique_ptr<MarkerCleanup>> marker_cleanups;
    copies.for_each([&](SinkCopy& copy) {
        copy.variables = key_variables(plan, stages, *copy.sink);
        render_backup_key(plan, copy.destination, start, copy.variables, copy.result);
        copy.before = prepare_destination(plan, *copy.store, copy.result);
        const PendingMarker marker{
            plan.spec.name, destination_fingerprint(copy.destination), copy.result.key, unix_ms(start), {}};
        copy.store->put(pending_key(copy.result.key), marker.to_json());
        marker_cleanups.push_back(std::make_unique<MarkerCleanup>(copy.destination, secrets, copy.result));
    });
    result.stream_count = 1;
    collect_copies(result);
    if (control.cancelled()) throw_first_error(control, "backup did not start");

    const bh_kv metadata[] = {{"pipeline", plan.spec.name.c_str()}};
    // Until commit, any way out of this function aborts the uploads.
    StreamUploads uploads(
        copies, [](SinkCopy& copy) { return copy.result.key; }, metadata, "");
    if (control.cancelled()) throw_first_error(control, "backup did not start");

    // Hashed on the consumer thread as the bytes go to the sinks: the manifest's checksum costs no second read.
    common::IncrementalDigest stored_hash{common::IncrementalDigest::Algorithm::sha256};
    StreamEnds ends;
    ends.producer_label = source.label();
    ends.read = [&](std::span<uint8_t> buffer) {
        size_t n = source_stream.read(buffer);
        progress.raw_bytes += n;
        return n;
    };
    ends.consumer_label = "sink";
    ends.write = [&](std::span<const uint8_t> data) {
        stored_hash.update(data);
        uploads.write(data);
        progress.stored_bytes += data.size();
    };

    Log::info("backing up to '" + result.key + "'" + copies_text(copies));
    StreamResult streamed = run_stream(control, ends, stages.transform_chain(false), BH_ENCODE);
    uploads.drain();
    result.raw_bytes = streamed.bytes_read;
    result.stored_bytes = streamed.bytes_written;
    source_stream.close();  // reaps the producer before we decide

    if (!streamed.complete || control.cancelled()) throw_first_error(control, "backup did not complete");
    if (streamed.bytes_read == 0 && !plan.spec.allow_empty)
        throw RunError(source.label() +
                       ": produced no data (0 bytes), which is treated as a failure; nothing committed (set "
                       "allow_empty = true if an empty backup is expected)");
    result.sha256 = common::hex(stored_hash.finish());

    // From here to the manifests, a signal or the timeout waits: a commit request that was sent is seen through, so
    // the log never says "nothing committed" about committed data. (SIGKILL cannot wait; the marker covers it.)
    CommitShield shield(control);
    uploads.commit([&](SinkCopy& copy) { copy.result.data_committed = true; });
    copies.for_each([&](SinkCopy& copy) {
        BackupManifest manifest =
            manifest_skeleton(plan, stages, copy.destination, *copy.sink, copy.result.key, start, copy.variables);
        manifest.raw_bytes = result.raw_bytes;
        manifest.stored_bytes = result.stored_bytes;
        manifest.sha256 = result.sha256;
        manifest.finished_unix_ms = unix_ms(std::chrono::system_clock::now());
        manifest.duration_ms = manifest.finished_unix_ms - manifest.started_unix_ms;
        try {
            copy.store->put(manifest_key(copy.result.key), manifest.to_json());
        } catch (const std::exception& e) {
            throw RunError("backup data committed under '" + copy.result.key +
                           "' but its manifest could not be written; the backup is incomplete: " + e.what());
        }
        copy.result.manifest_written = true;
        if (!result.shrunken)
            result.shrunken =
                shrink_finding(copy.before.backups, copy.result.identity, result.raw_bytes, plan.spec.shrink_threshold);
    });
    collect_copies(result);
    if (!result.manifest_written) throw_first_error(control, "no copy of the backup is complete");
}

OutputFile::OutputFile(const std::filesystem::path& path) : path_(path) {
    if (path_ == "-") {
        fd_ = STDOUT_FILENO;
        return;
    }
    if (std::filesystem::exists(path_)) throw RunError("restore: output file '" + path_.string() + "' already exists");
    std::filesystem::path dir = path_.has_parent_path() ? path_.parent_path() : ".";
    temp_ = (dir / ("." + path_.filename().string() + ".backhaul-tmp-XXXXXX")).string();
    fd_ = mkostemp(temp_.data(), O_CLOEXEC);
    if (fd_ < 0) throw RunError("restore: cannot create '" + temp_ + "': " + std::strerror(errno));
}

OutputFile::~OutputFile() {
    if (path_ == "-") return;
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
}

void OutputFile::write(std::span<const uint8_t> data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw RunError("restore: writing '" + path_.string() + "': " + std::strerror(errno));
        data = data.subspan(static_cast<size_t>(n));
    }
}

void OutputFile::commit() {
    if (path_ == "-") return;
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
        fd_ = -1;
        throw RunError("restore: writing '" + path_.string() + "': " + std::strerror(errno));
    }
    fd_ = -1;
    // link() fails if the target appeared meanwhile: never overwrite a file we did not create.
    if (::link(temp_.c_str(), path_.c_str()) != 0)
        throw RunError("restore: cannot create '" + path_.string() + "': " + std::strerror(errno));
    committed_ = true;
    ::unlink(temp_.c_str());
}

RestoreResult run_restore(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                          const RestoreRequest& request) {
    if (plan.source_set) return run_set_restore(plan, control, secrets, request);
    if (request.output && !request.target_options.empty())
        throw UsageError("restore: --output cannot be combined with the source's restore options");
    PipelineStages stages =
        create_stages(plan, secrets, control, request.output ? StageSelection::without_source : StageSelection::all,
                      &request.sink_plan(plan));
    PluginInstance& sink = *stages.sink;

    // The target first: a bad restore option should fail before anything is downloaded.
    std::unique_ptr<OutputFile> file;
    std::optional<RestoreTargetHandle> target;
    if (request.output) {
        file = std::make_unique<OutputFile>(*request.output);
    } else {
        PluginInstance& source = *stages.source;
        const bh_plugin_descriptor& d = source.descriptor();
        // The plugin's restore limits too: its restore() relies on them (ABI 1.2), as create on its limits.
        BoundOptions options = bind_cli_options(request.target_options, d.name, d.restore_options,
                                                d.restore_option_count, source.plugin().restore_limits());
        target.emplace(source.open_restore(std::span<const bh_option_value>(options.data(), options.size())));
    }

    ObjectReaderHandle reader = sink.open_read(request.key);

    StreamEnds ends;
    ends.producer_label = sink.label();
    ends.read = [&](std::span<uint8_t> buffer) { return reader.read(buffer); };
    if (file) {
        ends.consumer_label = "restore";
        ends.write = [&](std::span<const uint8_t> data) { file->write(data); };
    } else {
        PluginInstance& source = *stages.source;
        ends.consumer_label = source.label();
        ends.write = [&](std::span<const uint8_t> data) { target->write(data); };
    }

    Log::info("restoring '" + request.key + "'");
    StreamResult streamed = run_stream(control, ends, stages.transform_chain(true), BH_DECODE);
    reader.close();
    if (!streamed.complete || control.cancelled()) throw_first_error(control, "restore did not complete");

    if (file)
        file->commit();
    else
        target->finish();
    return RestoreResult{streamed.bytes_read, streamed.bytes_written, {}};
}

}  // namespace backhaul
