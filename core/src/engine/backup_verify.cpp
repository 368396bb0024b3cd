#include "engine/backup_verify.hpp"

#include <backhaul/common/digest.hpp>
#include <backhaul/common/encoding.hpp>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/sink_store.hpp"
#include "engine/stream_pipeline.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

struct ObjectDigest {
    uint64_t bytes = 0;
    std::string sha256;
};

// A plain read of the whole object, for when decoding failed part way: the size and hash still say whether the stored
// bytes changed or the backup was bad from the start. Uses its own sink instance: the run's is cancelled by now.
ObjectDigest digest_object(const SinkPlan& destination, const ValueResolver& secrets, const std::string& key) {
    RunControl control;
    std::unique_ptr<PluginInstance> sink = create_stage(destination.stage, secrets, control);
    ObjectReaderHandle reader = sink->open_read(key);
    ObjectDigest digest;
    common::IncrementalDigest hash{common::IncrementalDigest::Algorithm::sha256};
    std::vector<uint8_t> buffer(kChunkSize);
    while (size_t len = reader.read(buffer)) {
        hash.update(std::span<const uint8_t>(buffer.data(), len));
        digest.bytes += len;
    }
    digest.sha256 = common::hex(hash.finish());
    return digest;
}

// What the manifest records of one stored object.
struct Expected {
    uint64_t stored_bytes = 0;
    uint64_t raw_bytes = 0;
    std::string sha256;
};

struct ObjectCheck {
    uint64_t stored_bytes = 0;
    uint64_t decoded_bytes = 0;
    std::string sha256;
    std::vector<std::string> problems;  // every mismatch: the object is bad
};

// Streams `key` from the sink through the decode chain into nothing, comparing with `expected`. `stream_control`
// carries this one stream (a set gives each object its own, so a bad object does not stop the others); `run_control`
// is the run's, which the stages watch and signals interrupt. Throws RunError, prefixed with `prefix`, when the check
// could not be made: an interruption or a failing sink read says nothing about the backup.
ObjectCheck check_object(const SinkPlan& destination, const ValueResolver& secrets, const PipelineStages& stages,
                         RunControl& stream_control, const RunControl& run_control, const std::string& key,
                         const Expected& expected, const std::string& prefix) {
    PluginInstance& sink = *stages.sink;
    std::optional<ObjectReaderHandle> reader;
    try {
        reader.emplace(sink.open_read(key));
    } catch (const StageFailure& e) {
        throw RunError(prefix + e.what());
    }

    // Only a stop from outside (a signal, the timeout) fails the run's control while a set's object streams on its own.
    auto interruption = [&]() -> std::optional<std::string> {
        if (!run_control.cancelled()) return std::nullopt;
        std::optional<RunFailure> failure = run_control.failure();
        if (!failure || !failure->interrupted) return std::nullopt;
        return failure->message;
    };

    common::IncrementalDigest hash{common::IncrementalDigest::Algorithm::sha256};
    StreamEnds ends;
    ends.producer_label = sink.label();
    ends.read = [&](std::span<uint8_t> buffer) {
        if (std::optional<std::string> stop = interruption()) throw RunError(*stop);
        size_t n = reader->read(buffer);
        hash.update(std::span<const uint8_t>(buffer.data(), n));
        return n;
    };
    ends.consumer_label = "verify";
    ends.write = [](std::span<const uint8_t>) {};  // decoded bytes go nowhere; the engine counts them

    StreamResult streamed = run_stream(stream_control, ends, stages.transform_chain(true), BH_DECODE);
    reader.reset();

    ObjectCheck check;
    std::optional<std::string> decode_error;
    ObjectDigest stored{streamed.bytes_read, ""};
    if (std::optional<std::string> stop = interruption()) throw RunError(prefix + *stop);
    if (streamed.complete && !stream_control.cancelled()) {
        stored.sha256 = common::hex(hash.finish());
    } else {
        const RunFailure failure =
            stream_control.failure().value_or(RunFailure{"verify did not complete", std::nullopt, false});
        const bool sink_failed = failure.stage && failure.stage->kind == BH_KIND_SINK;
        if (failure.interrupted || sink_failed) throw RunError(prefix + failure.message);
        decode_error = failure.message;
        stored = digest_object(destination, secrets, key);
    }
    if (stored.bytes != expected.stored_bytes)
        check.problems.push_back("size mismatch: the manifest records " + std::to_string(expected.stored_bytes) +
                                 " bytes, the object has " + std::to_string(stored.bytes));
    if (stored.sha256 != expected.sha256)
        check.problems.push_back("SHA-256 mismatch: the manifest records " + expected.sha256 +
                                 ", the object hashes to " + stored.sha256);
    if (decode_error) {
        check.problems.push_back("decoding failed: " + *decode_error);
    } else if (streamed.bytes_written != expected.raw_bytes) {
        check.problems.push_back("decoded size mismatch: the manifest records " + std::to_string(expected.raw_bytes) +
                                 " raw bytes, decoding gave " + std::to_string(streamed.bytes_written));
    }
    check.stored_bytes = stored.bytes;
    check.decoded_bytes = streamed.bytes_written;
    check.sha256 = stored.sha256;
    return check;
}

std::string joined(const std::vector<std::string>& problems) {
    std::string message;
    for (const std::string& p : problems) message += (message.empty() ? "" : "; ") + p;
    return message;
}

}  // namespace

VerifyResult run_verify(const PipelinePlan& plan, const SinkPlan& destination, RunControl& control,
                        const ValueResolver& secrets, const std::optional<std::string>& requested_key) {
    PipelineStages stages = create_stages(plan, secrets, control, StageSelection::without_source, &destination);
    SinkStore store(destination, *stages.sink);

    VerifyResult result;
    if (requested_key) {
        result.key = *requested_key;
    } else {
        BackupCatalog catalog = list_backups(plan, store);
        for (const BackupEntry& b : catalog.backups) {
            if (b.complete()) {
                result.key = b.key;
                break;
            }
        }
        if (result.key.empty())
            throw RunError("verify: pipeline '" + plan.spec.name + "' has no complete backup in sink '" +
                           destination.name() + "'");
    }
    const std::string prefix = "verify '" + result.key + "': ";

    BackupManifest manifest;
    try {
        manifest = BackupManifest::from_json(store.read_all(manifest_key(result.key), kManifestMaxBytes));
    } catch (const RunError& e) {
        throw RunError(prefix + "cannot read its manifest, so the backup is incomplete: " + e.what());
    } catch (const std::exception& e) {
        throw RunError(prefix + "invalid manifest '" + manifest_key(result.key) + "': " + e.what());
    }

    if (!manifest.is_set()) {
        Log::info("verifying '" + result.key + "'");
        ObjectCheck check = check_object(destination, secrets, stages, control, control, result.key,
                                         Expected{manifest.stored_bytes, manifest.raw_bytes, manifest.sha256}, prefix);
        if (!check.problems.empty()) throw RunError(prefix + joined(check.problems));
        result.stored_bytes = check.stored_bytes;
        result.decoded_bytes = check.decoded_bytes;
        result.sha256 = check.sha256;
        return result;
    }

    // A set: every object its manifest lists, each on its own stream, every problem of every object reported.
    result.is_set = true;
    std::map<std::string, int64_t> listed;
    try {
        for (const StoredObject& o : store.list(result.key + "/")) listed[o.key] = o.size;
    } catch (const RunError& e) {
        throw RunError(prefix + e.what());
    }
    Log::info("verifying set '" + result.key + "' (" + std::to_string(manifest.objects.size()) + " streams)");
    std::vector<std::string> problems;
    for (const ManifestObject& object : manifest.objects) {
        const std::string stream = "stream '" + object.stream + "' ('" + object.key + "'): ";
        if (!listed.count(object.key)) {
            problems.push_back(stream + "missing from the sink");
            continue;
        }
        Log::info("verifying '" + object.key + "'");
        RunControl stream_control;
        ObjectCheck check =
            check_object(destination, secrets, stages, stream_control, control, object.key,
                         Expected{object.stored_bytes, object.raw_bytes, object.sha256}, prefix + stream);
        if (!check.problems.empty()) {
            problems.push_back(stream + joined(check.problems));
            continue;
        }
        result.objects.push_back(
            VerifiedObject{object.stream, object.key, check.stored_bytes, check.decoded_bytes, check.sha256});
        result.stored_bytes += check.stored_bytes;
        result.decoded_bytes += check.decoded_bytes;
    }
    if (!problems.empty()) throw RunError(prefix + joined(problems));
    return result;
}

}  // namespace backhaul
