// A set's backup and restore (docs/sets.md): the source's streams, up to `jobs` at once, each through transform
// instances of its own between the source and the sink; the set's manifest, listing every object, written last.
//
// Threads: every plugin call the ABI puts on the main thread (create, open_stream, restore_open_stream, begin, commit,
// destroy) happens here, on the main thread; each stream's bytes move on run_stream's threads, started from a worker
// thread per stream. One RunControl for the whole set: the first failure of any stream cancels all of them.
#include <algorithm>
#include <backhaul/common/digest.hpp>
#include <backhaul/common/encoding.hpp>
#include <backhaul/common/human_bytes.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "config/option_binding.hpp"
#include "engine/run_parts.hpp"
#include "engine/stream_pipeline.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {
using namespace run_parts;

namespace {

// " (stream 'NAME')": appended to any failure of one of a set's streams, whichever stage and step it was in.
std::string stream_context(const std::string& name) { return " (stream '" + name + "')"; }

// Runs the streams `order` lists (indices), at most `jobs` at once, starting them in that order: start(i) on the
// calling (main) thread, body(i) on a thread of its own, then finish(i) on the calling thread as each body ends, in the
// order they end. Once the run is cancelled no stream starts, and every started one is still waited for and finished
// (its handles released on this thread).
void run_streams(RunControl& control, const std::vector<size_t>& order, size_t jobs,
                 const std::function<std::string(size_t)>& name, const std::function<void(size_t)>& start,
                 const std::function<void(size_t)>& body, const std::function<void(size_t)>& finish) {
    const size_t count = order.size();
    auto record = [&](size_t i, const std::function<void()>& step) {
        record_stage_failure(control, "stream '" + name(i) + "'", stream_context(name(i)), step);
    };
    std::mutex mutex;
    std::condition_variable ended_cv;
    std::deque<size_t> ended;
    std::vector<std::thread> workers(count);  // by stream index: `order` is a permutation of 0..count-1
    size_t next = 0, active = 0;
    for (;;) {
        while (active < jobs && next < count && !control.cancelled()) {
            const size_t i = order[next++];
            bool started = false;
            record(i, [&] {
                start(i);
                started = true;
            });
            if (!started) {
                record(i, [&] { finish(i); });  // releases whatever start opened
                continue;
            }
            workers[i] = std::thread([&, i] {
                record(i, [&] { body(i); });
                std::lock_guard lock(mutex);
                ended.push_back(i);
                ended_cv.notify_one();
            });
            ++active;
        }
        if (active == 0) return;
        size_t i = 0;
        {
            std::unique_lock lock(mutex);
            ended_cv.wait(lock, [&] { return !ended.empty(); });
            i = ended.front();
            ended.pop_front();
        }
        workers[i].join();
        --active;
        record(i, [&] { finish(i); });
    }
}

// Largest first (longest-processing-time first: with `jobs` at once, the run ends soonest when the big streams do not
// start last); streams of unknown size (no `size(i)`) keep their place before the sized ones, in list order.
std::vector<size_t> largest_first(size_t count, const std::function<std::optional<uint64_t>(size_t)>& size) {
    std::vector<size_t> order(count);
    for (size_t i = 0; i < count; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const std::optional<uint64_t> sa = size(a), sb = size(b);
        if (!sa || !sb) return !sa && sb;
        return *sa > *sb;
    });
    return order;
}

// The extension the stages after the source add ({ext} without the source's part): each stream's own comes first.
std::string chain_ext(const PipelineStages& stages, PluginInstance& sink) {
    std::string ext;
    auto add = [&](PluginInstance& stage) {
        const std::map<std::string, std::string> variables = stage.host().variables();  // a copy: thread-safe
        if (auto it = variables.find("ext"); it != variables.end()) ext += it->second;
    };
    for (const auto& t : stages.transforms) add(*t);
    add(sink);
    return ext;
}

// What identifies the whole set in its manifest's top-level sha256: the digest of "<sha256>  <key>\n" of every
// object, in manifest order (sha256sum's format), so one line tells whether two sets hold the same bytes.
std::string set_digest(const std::vector<ManifestObject>& objects) {
    common::IncrementalDigest digest{common::IncrementalDigest::Algorithm::sha256};
    for (const ManifestObject& o : objects) digest.update(o.sha256 + "  " + o.key + "\n");
    return common::hex(digest.finish());
}

// Removes the objects this run committed, through a sink instance of its own (the run's is cancelled). They were
// proven free before the run began (prepare_destination) and the sinks never replace, so they are this run's own.
bool remove_own_objects(const SinkPlan& destination, const ValueResolver& secrets,
                        const std::vector<std::string>& keys) {
    if (keys.empty()) return true;
    try {
        RunControl own;
        std::unique_ptr<PluginInstance> sink = create_stage(destination.stage, secrets, own);
        SinkStore(destination, *sink).remove(keys);
        Log::info(destination.label() + ": removed the " + std::to_string(keys.size()) +
                  " object(s) this run had committed");
        return true;
    } catch (const std::exception& e) {
        Log::warn(destination.label() +
                  ": could not remove the object(s) this run had committed (the pending "
                  "marker stays, so `backhaul prune --delete-incomplete` can): " +
                  std::string(e.what()));
        return false;
    }
}

// A manifest or marker above kManifestMaxBytes could never be read back: the set would be nobody's (never listed,
// verified, restored or deleted). Refused before anything streams, with the manifest's largest possible size: the
// run's manifest skeleton with every stream's sizes at 20 digits and its digest filled in.
void refuse_unreadable_metadata(BackupManifest largest, const PipelineStages& stages,
                                const std::vector<SetStream>& streams, const std::vector<std::string>& object_keys,
                                const PendingMarker& marker) {
    largest.raw_bytes = largest.stored_bytes = UINT64_MAX;
    largest.sha256 = std::string(64, 'f');
    for (size_t i = 0; i < streams.size(); ++i)
        largest.objects.push_back(ManifestObject{streams[i].name, object_keys[i], streams[i].ext, UINT64_MAX,
                                                 UINT64_MAX, std::string(64, 'f'), streams[i].variables,
                                                 streams[i].restore_phase});
    const size_t manifest_size = largest.to_json().size() + 64;  // times and durations
    const size_t marker_size = marker.to_json().size();
    if (std::max(manifest_size, marker_size) > kManifestMaxBytes)
        throw RunError(stages.source->label() + ": a set of " + std::to_string(streams.size()) +
                       " streams needs a manifest of up to " + common::human_bytes(manifest_size) + ", above the " +
                       common::human_bytes(kManifestMaxBytes) +
                       " that backhaul reads back; split it over several pipelines "
                       "(e.g. with exclude_databases)");
}

// One stream of a backup in flight. Members are released in reverse order: the upload (aborted unless committed) and
// the source stream before the stream's own transform instances.
struct BackupStream {
    const SetStream* stream = nullptr;
    std::string key;
    std::vector<std::unique_ptr<PluginInstance>> transforms;
    std::optional<SourceStreamHandle> reader;
    std::unique_ptr<StreamUploads> uploads;
    common::IncrementalDigest stored_hash{common::IncrementalDigest::Algorithm::sha256};
    StreamResult streamed;
};

}  // namespace

void run_set_backup(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                    std::chrono::system_clock::time_point start, BackupProgress& progress, BackupResult& result) {
    PipelineStages stages = create_stages(plan, secrets, control, StageSelection::all, nullptr);
    SinkCopies copies(plan, control, secrets, result);
    PluginInstance& source = *stages.source;

    const std::vector<SetStream> streams = source.list_streams();
    result.stream_count = streams.size();
    if (auto expected = parse_expected_bytes(source.host().variables())) progress.expected_raw_bytes = *expected;

    std::vector<std::unique_ptr<MarkerCleanup>> marker_cleanups;
    copies.for_each([&](SinkCopy& copy) {
        copy.variables = key_variables(plan, stages, *copy.sink);
        render_backup_key(plan, copy.destination, start, copy.variables, copy.result);
        const std::string ext = chain_ext(stages, *copy.sink);
        for (const SetStream& s : streams) {
            copy.object_keys.push_back(stream_object_key(copy.result.key, s.name, s.ext + ext));
            if (is_metadata_key(copy.object_keys.back()))
                throw RunError(source.label() + ": stream '" + s.name + "' would be stored as '" +
                               copy.object_keys.back() + "', a name reserved for Backhaul's metadata");
        }
        copy.before = prepare_destination(plan, *copy.store, copy.result);
        const PendingMarker marker{plan.spec.name, destination_fingerprint(copy.destination), copy.result.key,
                                   unix_ms(start), copy.object_keys};
        refuse_unreadable_metadata(
            manifest_skeleton(plan, stages, copy.destination, *copy.sink, copy.result.key, start, copy.variables),
            stages, streams, copy.object_keys, marker);
        copy.store->put(pending_key(copy.result.key), marker.to_json());
        marker_cleanups.push_back(std::make_unique<MarkerCleanup>(copy.destination, secrets, copy.result));
    });
    collect_copies(result);
    if (control.cancelled()) throw_first_error(control, "backup did not start");

    const size_t jobs = std::min<size_t>(static_cast<size_t>(plan.spec.jobs), streams.size());
    Log::info("backing up a set of " + std::to_string(streams.size()) + " stream(s) to '" + result.key + "/'" +
              copies_text(copies) + ", " + std::to_string(jobs) + " at once");

    // As a one-stream run's: the pipeline name is ASCII by its rule, which object metadata (HTTP headers) needs.
    const bh_kv metadata[] = {{"pipeline", plan.spec.name.c_str()}};
    std::vector<std::unique_ptr<BackupStream>> running(streams.size());
    std::vector<std::optional<ManifestObject>> objects(streams.size());
    size_t streams_committed = 0;                      // by some copy
    std::unique_ptr<CommitShield> last_commit_shield;  // from the set's last commit to its manifests

    auto start_stream = [&](size_t i) {
        running[i] = std::make_unique<BackupStream>();
        BackupStream& run = *running[i];
        run.stream = &streams[i];
        run.transforms = create_transforms(plan, secrets, control);
        run.reader.emplace(source.open_stream(run.stream->name));
        run.uploads = std::make_unique<StreamUploads>(
            copies, [&](SinkCopy& copy) { return copy.object_keys[i]; }, metadata, stream_context(run.stream->name));
    };
    auto stream_body = [&](size_t i) {
        BackupStream& run = *running[i];
        StreamEnds ends;
        ends.producer_label = source.label();
        ends.context = stream_context(run.stream->name);
        ends.read = [&](std::span<uint8_t> buffer) {
            size_t n = run.reader->read(buffer);
            progress.raw_bytes += n;
            return n;
        };
        ends.consumer_label = "sink";
        ends.write = [&](std::span<const uint8_t> data) {
            run.stored_hash.update(data);
            run.uploads->write(data);
            progress.stored_bytes += data.size();
        };
        run.streamed = run_stream(control, ends, transform_chain(run.transforms, false), BH_ENCODE);
        run.uploads->drain();
    };
    auto finish_stream = [&](size_t i) {
        // Whatever happens here, the stream's handles and instances are released on this thread.
        std::unique_ptr<BackupStream> run = std::move(running[i]);
        if (!run || !run->uploads) return;
        run->reader->close();  // reaps the producer before we decide
        if (!run->streamed.complete || control.cancelled()) return;
        if (run->streamed.bytes_read == 0 && !plan.spec.allow_empty) {
            control.fail(source.label() +
                         ": produced no data (0 bytes), which is treated as a failure; nothing "
                         "committed (set allow_empty = true if an empty stream is expected)" +
                         stream_context(run->stream->name));
            return;
        }
        ManifestObject object;
        object.stream = run->stream->name;
        object.key = "";  // each copy's own, filled in when its manifest is written
        object.ext = run->stream->ext;
        object.raw_bytes = run->streamed.bytes_read;
        object.stored_bytes = run->streamed.bytes_written;
        object.sha256 = common::hex(run->stored_hash.finish());
        object.variables = run->stream->variables;
        object.restore_phase = run->stream->restore_phase;
        // A commit request that was sent is seen through and recorded. The set's last commit keeps the shield up
        // until the manifests are written, as a one-stream run does: a stop in between would otherwise undo a set
        // whose data is all stored.
        auto shield = std::make_unique<CommitShield>(control);
        const bool several = copies.all().size() > 1;
        run->uploads->commit([&](SinkCopy& copy) {
            copy.committed.push_back(copy.object_keys[i]);
            copy.result.data_committed = true;
            Log::info("stream '" + object.stream + "': " + common::human_bytes(object.raw_bytes) + " -> " +
                      common::human_bytes(object.stored_bytes) + " committed as '" + copy.object_keys[i] + "'" +
                      (several ? " on sink '" + copy.result.sink + "'" : ""));
        });
        if (++streams_committed == streams.size()) last_commit_shield = std::move(shield);
        objects[i] = std::move(object);
    };

    // By the size the source expects of each stream (its `expected_bytes` variable), e.g. a database's.
    const std::vector<size_t> order = largest_first(streams.size(), [&](size_t i) -> std::optional<uint64_t> {
        if (auto expected = parse_expected_bytes(streams[i].variables)) return static_cast<uint64_t>(*expected);
        return std::nullopt;
    });
    run_streams(
        control, order, jobs, [&](size_t i) { return streams[i].name; }, start_stream, stream_body, finish_stream);

    // A copy that did not commit every object is not a set: its own objects go again, then its marker (by
    // MarkerCleanup, once data_committed is false).
    auto abandon = [&](SinkCopy& copy) {
        if (!remove_own_objects(copy.destination, secrets, copy.committed)) return;
        copy.committed.clear();
        copy.result.data_committed = false;
    };
    auto fail_set = [&](const std::string& fallback) {
        last_commit_shield.reset();
        for (auto& copy : copies.all()) abandon(*copy);
        collect_copies(result);
        throw_first_error(control, fallback);
    };
    if (control.cancelled()) fail_set("backup did not complete");
    for (auto& copy : copies.all())
        if (!copy->live()) abandon(*copy);

    for (std::optional<ManifestObject>& o : objects) {
        result.raw_bytes += o->raw_bytes;
        result.stored_bytes += o->stored_bytes;
    }
    copies.for_each([&](SinkCopy& copy) {
        BackupManifest manifest =
            manifest_skeleton(plan, stages, copy.destination, *copy.sink, copy.result.key, start, copy.variables);
        for (size_t i = 0; i < objects.size(); ++i) {
            manifest.objects.push_back(*objects[i]);
            manifest.objects.back().key = copy.object_keys[i];
        }
        manifest.raw_bytes = result.raw_bytes;
        manifest.stored_bytes = result.stored_bytes;
        manifest.sha256 = set_digest(manifest.objects);
        manifest.finished_unix_ms = unix_ms(std::chrono::system_clock::now());
        manifest.duration_ms = manifest.finished_unix_ms - manifest.started_unix_ms;
        try {
            copy.store->put(manifest_key(copy.result.key), manifest.to_json());
        } catch (const std::exception& e) {
            throw RunError(std::string("the set's manifest could not be written, so the set is not complete: ") +
                           e.what());
        }
        copy.result.manifest_written = true;
        if (result.objects.empty()) {
            result.objects = manifest.objects;
            result.sha256 = manifest.sha256;
        }
        if (!result.shrunken)
            result.shrunken =
                shrink_finding(copy.before.backups, copy.result.identity, result.raw_bytes, plan.spec.shrink_threshold);
    });
    for (auto& copy : copies.all())
        if (!copy->result.manifest_written) abandon(*copy);
    collect_copies(result);
    if (!result.manifest_written) fail_set("no copy of the set is complete");
    last_commit_shield.reset();  // a stop held back since the last commit is now reported (run_command)
}

namespace {

// One stream of a set restore in flight: the object read from the sink, its transforms, and where it goes.
struct RestoreStream {
    const ManifestObject* object = nullptr;
    std::vector<std::unique_ptr<PluginInstance>> transforms;
    std::unique_ptr<OutputFile> file;
    std::optional<RestoreTargetHandle> target;
    std::optional<ObjectReaderHandle> reader;
    common::IncrementalDigest stored_hash{common::IncrementalDigest::Algorithm::sha256};
    StreamResult streamed;
};

// The manifest of `key`, which must be this pipeline's set.
BackupManifest read_set_manifest(const PipelinePlan& plan, SinkStore& store, const std::string& key) {
    BackupManifest manifest;
    try {
        manifest = BackupManifest::from_json(store.read_all(manifest_key(key), kManifestMaxBytes));
    } catch (const StageFailure& e) {
        throw RunError("restore: '" + key + "' has no readable manifest, so it is not a complete set (" +
                       e.error().message + "); `backhaul list` shows the complete ones");
    } catch (const std::exception& e) {
        throw RunError("restore: the manifest of '" + key + "' is not valid: " + e.what());
    }
    if (!manifest.is_set())
        throw RunError("restore: '" + key + "' is a one-stream backup, but this pipeline's source backs up a set");
    const PipelineOwner owner = pipeline_owner(plan, store.destination());
    if (std::string mismatch =
            ownership_mismatch(owner, manifest.pipeline, manifest.destination, manifest.key, key, "manifest");
        !mismatch.empty())
        throw RunError("restore: '" + key + "' is not this pipeline's set: its " + mismatch);
    return manifest;
}

// The objects `request` asks for, in manifest order; every name asked for must match.
std::vector<const ManifestObject*> select_objects(const BackupManifest& manifest, const RestoreRequest& request) {
    if (request.databases.empty() && !request.globals) {
        std::vector<const ManifestObject*> all;
        for (const ManifestObject& o : manifest.objects) all.push_back(&o);
        return all;
    }
    std::vector<const ManifestObject*> chosen;
    std::set<std::string> found;
    for (const ManifestObject& o : manifest.objects) {
        auto db = o.variables.find("database");
        const bool wanted_db = db != o.variables.end() && std::find(request.databases.begin(), request.databases.end(),
                                                                    db->second) != request.databases.end();
        const bool wanted_globals = request.globals && o.stream == "globals";
        if (wanted_db) found.insert(db->second);
        if (wanted_db || wanted_globals) chosen.push_back(&o);
    }
    std::string missing, available;
    for (const std::string& name : request.databases)
        if (!found.count(name)) missing += (missing.empty() ? "'" : ", '") + name + "'";
    if (request.globals &&
        std::none_of(chosen.begin(), chosen.end(), [](const ManifestObject* o) { return o->stream == "globals"; }))
        missing += std::string(missing.empty() ? "" : ", ") + "the globals";
    if (!missing.empty()) {
        for (const ManifestObject& o : manifest.objects) available += (available.empty() ? "" : ", ") + o.stream;
        throw UsageError("restore: the set '" + manifest.key + "' has no " + missing + " (its streams: " + available +
                         ")");
    }
    return chosen;
}

// Where --output DIR puts a stream: its object's path below the set key, without the transforms' extension.
std::filesystem::path output_path(const std::filesystem::path& dir, const ManifestObject& object) {
    // Safe segments, never "." or "..": the manifest's stream names were checked when it was read.
    return dir / (encoded_stream_name(object.stream) + object.ext);
}

}  // namespace

RestoreResult run_set_restore(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                              const RestoreRequest& request) {
    const bool to_files = request.output.has_value();
    if (to_files && !request.target_options.empty())
        throw UsageError("restore: --output cannot be combined with the source's restore options");
    if (to_files && *request.output == "-")
        throw UsageError("restore: a set has several streams; --output takes a directory, not '-'");
    PipelineStages stages =
        create_stages(plan, secrets, control, to_files ? StageSelection::without_source : StageSelection::all,
                      &request.sink_plan(plan));
    PluginInstance& sink = *stages.sink;
    SinkStore store(request.sink_plan(plan), sink);
    const BackupManifest manifest = read_set_manifest(plan, store, request.key);
    const std::vector<const ManifestObject*> selected = select_objects(manifest, request);

    BoundOptions target_options;
    if (!to_files) {
        const bh_plugin_descriptor& d = stages.source->descriptor();
        target_options = bind_cli_options(request.target_options, d.name, d.restore_options, d.restore_option_count,
                                          stages.source->plugin().restore_limits());
    } else {
        for (const ManifestObject* o : selected) {
            std::filesystem::path path = output_path(*request.output, *o);
            if (std::filesystem::exists(path))
                throw RunError("restore: output file '" + path.string() + "' already exists");
        }
    }

    // Restore phases in order (the globals before the databases that need their roles); a phase starts only once the
    // one before it succeeded.
    std::map<int32_t, std::vector<const ManifestObject*>> phases;
    for (const ManifestObject* o : selected) phases[o->restore_phase].push_back(o);

    RestoreResult result;
    std::vector<std::string> restored;
    for (const auto& [phase, objects] : phases) {
        std::vector<std::unique_ptr<RestoreStream>> running(objects.size());
        auto start_stream = [&](size_t i) {
            running[i] = std::make_unique<RestoreStream>();
            RestoreStream& run = *running[i];
            run.object = objects[i];
            run.transforms = create_transforms(plan, secrets, control);
            if (to_files) {
                std::filesystem::path path = output_path(*request.output, *run.object);
                std::filesystem::create_directories(path.parent_path());
                run.file = std::make_unique<OutputFile>(path);
            } else {
                SetStream info{run.object->stream, run.object->ext, run.object->variables, run.object->restore_phase};
                run.target.emplace(stages.source->open_restore_stream(
                    info, std::span<const bh_option_value>(target_options.data(), target_options.size())));
            }
            run.reader.emplace(sink.open_read(run.object->key));
            Log::info("restoring stream '" + run.object->stream + "' from '" + run.object->key + "'");
        };
        auto stream_body = [&](size_t i) {
            RestoreStream& run = *running[i];
            StreamEnds ends;
            ends.producer_label = sink.label();
            ends.context = stream_context(run.object->stream);
            ends.read = [&](std::span<uint8_t> buffer) {
                size_t n = run.reader->read(buffer);
                run.stored_hash.update(buffer.first(n));
                return n;
            };
            ends.consumer_label = to_files ? std::string("restore") : stages.source->label();
            ends.write = [&](std::span<const uint8_t> data) {
                if (run.file)
                    run.file->write(data);
                else
                    run.target->write(data);
            };
            run.streamed = run_stream(control, ends, transform_chain(run.transforms, true), BH_DECODE);
        };
        auto finish_stream = [&](size_t i) {
            std::unique_ptr<RestoreStream> run = std::move(running[i]);
            if (!run) return;
            const ManifestObject& object = *objects[i];
            if (!run->reader) return;
            run->reader->close();
            if (!run->streamed.complete || control.cancelled()) return;
            // Before the target commits: the bytes read are the ones the backup stored.
            const std::string sha256 = common::hex(run->stored_hash.finish());
            if (run->streamed.bytes_read != object.stored_bytes || sha256 != object.sha256) {
                control.fail("restore: stream '" + object.stream + "': '" + object.key +
                             "' does not match the set's "
                             "manifest (" +
                             std::to_string(run->streamed.bytes_read) + " bytes, sha256 " + sha256 +
                             "; the manifest lists " + std::to_string(object.stored_bytes) + " bytes, sha256 " +
                             object.sha256 + "); its restore was abandoned");
                return;
            }
            if (run->file)
                run->file->commit();
            else
                run->target->finish();
            result.stored_bytes += run->streamed.bytes_read;
            result.restored_bytes += run->streamed.bytes_written;
            restored.push_back(object.stream);
            Log::info("stream '" + object.stream + "' restored (" + common::human_bytes(run->streamed.bytes_written) +
                      ")");
        };
        const std::vector<size_t> order = largest_first(
            objects.size(), [&](size_t i) -> std::optional<uint64_t> { return objects[i]->stored_bytes; });
        run_streams(
            control, order, static_cast<size_t>(plan.spec.jobs), [&](size_t i) { return objects[i]->stream; },
            start_stream, stream_body, finish_stream);
        if (control.cancelled()) break;
    }
    result.restored_streams = restored;
    if (control.cancelled()) {
        std::string done;
        for (const std::string& s : restored) done += (done.empty() ? "'" : ", '") + s + "'";
        throw RunError(control.error().value_or("restore did not complete") + "; restored: " +
                       (done.empty() ? "none" : done) + " of " + std::to_string(selected.size()) + " stream(s)");
    }
    return result;
}

}  // namespace backhaul
