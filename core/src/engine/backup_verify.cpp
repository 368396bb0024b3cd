#include "engine/backup_verify.hpp"

#include <memory>

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/plugin_stream.hpp"
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
    const bh_sink_api& api = *sink->descriptor().sink;
    void* raw = nullptr;
    bh_status status = api.open_read(sink->handle(), key.c_str(), &raw);
    if (status != BH_OK) throw RunError(sink->error_line(status, "read '" + key + "'"));
    std::unique_ptr<void, void (*)(void*)> reader(raw, api.close_read);
    ObjectDigest digest;
    Sha256 hash;
    std::vector<uint8_t> buffer(kChunkSize);
    for (;;) {
        size_t len = read_from(*sink, control, api.read, reader.get(), buffer);
        if (len == 0) break;
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

    const bh_sink_api& api = *sink.descriptor().sink;
    void* raw = nullptr;
    bh_status status = api.open_read(sink.handle(), result.key.c_str(), &raw);
    if (status != BH_OK) throw RunError(prefix + sink.error_line(status, "read"));
    std::unique_ptr<void, void (*)(void*)> reader(raw, api.close_read);

    Sha256 hash;
    StreamEnds ends;
    ends.producer_label = sink.label();
    ends.read = [&](std::span<uint8_t> buffer) {
        size_t n = read_from(sink, control, api.read, reader.get(), buffer);
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
        std::string error = control.error().value_or("verify did not complete");
        // An interruption or a failing sink read says nothing about the backup: report it as it is.
        if (error.rfind(sink.label(), 0) == 0 || error.rfind("interrupted by", 0) == 0) throw RunError(prefix + error);
        decode_error = error;
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
