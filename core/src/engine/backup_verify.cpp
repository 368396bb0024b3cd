#include "engine/backup_verify.hpp"

#include <memory>
#include <optional>

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/sink_store.hpp"
#include "engine/stream_pipeline.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace backhaul {
namespace {

struct ObjectDigest {
    uint64_t bytes = 0;
    std::string sha256;
};

// A plain read of the whole object, for when decoding failed part way: the size and hash still say whether the stored
// bytes changed or the backup was bad from the start. Uses its own sink instance: the run's is cancelled by now.
ObjectDigest digest_object(const PipelinePlan& plan, const ValueResolver& secrets, const std::string& key) {
    RunControl control;
    std::unique_ptr<PluginInstance> sink = create_stage(plan.sink, secrets, control);
    ObjectReaderHandle reader = sink->open_read(key);
    ObjectDigest digest;
    Sha256 hash;
    std::vector<uint8_t> buffer(kChunkSize);
    while (size_t len = reader.read(buffer)) {
        hash.update(std::span<const uint8_t>(buffer.data(), len));
        digest.bytes += len;
    }
    digest.sha256 = hash.hex_digest();
    return digest;
}

}  // namespace

VerifyResult run_verify(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                        const std::optional<std::string>& requested_key) {
    PipelineStages stages = create_stages(plan, secrets, control, StageSelection::without_source);
    PluginInstance& sink = *stages.sink;
    SinkStore store(sink);

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
            throw RunError("verify: pipeline '" + plan.spec.name + "' has no complete backup in the sink");
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

    std::optional<ObjectReaderHandle> reader;
    try {
        reader.emplace(sink.open_read(result.key));
    } catch (const StageFailure& e) {
        throw RunError(prefix + e.what());
    }

    Sha256 hash;
    StreamEnds ends;
    ends.producer_label = sink.label();
    ends.read = [&](std::span<uint8_t> buffer) {
        size_t n = reader->read(buffer);
        hash.update(std::span<const uint8_t>(buffer.data(), n));
        return n;
    };
    ends.consumer_label = "verify";
    ends.write = [](std::span<const uint8_t>) {};  // decoded bytes go nowhere; the engine counts them

    Log::info("verifying '" + result.key + "'");
    StreamResult streamed = run_stream(control, ends, stages.transform_chain(true), BH_DECODE);
    reader.reset();

    std::vector<std::string> problems;
    std::optional<std::string> decode_error;
    ObjectDigest stored{streamed.bytes_read, ""};
    if (streamed.complete && !control.cancelled()) {
        stored.sha256 = hash.hex_digest();
    } else {
        const RunFailure failure = control.failure().value_or(RunFailure{"verify did not complete", std::nullopt, false});
        // An interruption (signal, timeout) or a failing sink read says nothing about the backup: report it as it is.
        const bool sink_failed = failure.stage && failure.stage->kind == BH_KIND_SINK;
        if (failure.interrupted || sink_failed) throw RunError(prefix + failure.message);
        decode_error = failure.message;
        stored = digest_object(plan, secrets, result.key);
    }
    if (stored.bytes != manifest.stored_bytes)
        problems.push_back("size mismatch: the manifest records " + std::to_string(manifest.stored_bytes) +
                           " bytes, the object has " + std::to_string(stored.bytes));
    if (stored.sha256 != manifest.sha256)
        problems.push_back("SHA-256 mismatch: the manifest records " + manifest.sha256 + ", the object hashes to " +
                           stored.sha256);
    if (decode_error) {
        problems.push_back("decoding failed: " + *decode_error);
    } else if (streamed.bytes_written != manifest.raw_bytes) {
        problems.push_back("decoded size mismatch: the manifest records " + std::to_string(manifest.raw_bytes) +
                           " raw bytes, decoding gave " + std::to_string(streamed.bytes_written));
    }
    if (!problems.empty()) {
        std::string message;
        for (const std::string& p : problems) message += (message.empty() ? "" : "; ") + p;
        throw RunError(prefix + message);
    }
    result.stored_bytes = stored.bytes;
    result.decoded_bytes = streamed.bytes_written;
    result.sha256 = stored.sha256;
    return result;
}

}  // namespace backhaul
