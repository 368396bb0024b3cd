// The manifest stored next to every committed backup as "<key>.manifest.json", written only after the data object
// committed. Its presence is what makes a backup complete (WAL-G's sentinel idea): a data object without it is an
// interrupted or failed run. verify checks the data against its size and SHA-256.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backhaul {

inline constexpr std::string_view kManifestSuffix = ".manifest.json";
inline constexpr const char* kManifestFormat = "backhaul-manifest/1";
// A set's manifest (docs/sets.md): the same fields, sizes as totals, plus the list of its objects.
inline constexpr const char* kSetManifestFormat = "backhaul-manifest/2";
// Written before a run begins its upload and removed once the manifest is written: the proof that data without a
// manifest under "<key>" was left by this pipeline's own run (a crash between commit and manifest), which is what
// lets `prune --delete-incomplete` remove it. Nothing else without a manifest is ever deleted.
inline constexpr std::string_view kPendingSuffix = ".pending.json";
inline constexpr const char* kPendingFormat = "backhaul-pending/1";
// Anything bigger is not one of ours. A one-stream manifest is about 2 KiB; a set's grows by about 500 bytes per
// stream, so this holds sets of tens of thousands of databases. A set run refuses, before it streams, a set whose
// manifest could not be read back (set_run.cpp).
inline constexpr size_t kManifestMaxBytes = 16 << 20;

struct ManifestStage {
    std::string role;                                          // "source", "transform[0]", "sink"
    std::string plugin;                                        // "compress-gzip"
    std::string version;                                       // the plugin's version
    std::vector<std::pair<std::string, std::string>> options;  // BoundOptions::display(): secrets are "<redacted>"
};

// One object of a set: a stream of the source, stored under the set's key.
struct ManifestObject {
    std::string stream;  // the source's stream name ("databases/orders")
    std::string key;     // stream_object_key(): always under "<set key>/"
    std::string ext;     // the stream's own extension, as the source gave it
    uint64_t raw_bytes = 0;
    uint64_t stored_bytes = 0;
    std::string sha256;                            // lower-case hex of the stored bytes
    std::map<std::string, std::string> variables;  // the stream's ({database} = "orders")
    int32_t restore_phase = 0;
};

struct BackupManifest {
    std::string pipeline;
    // destination_fingerprint() of the writing pipeline; "" in manifests written before it was recorded (then the
    // pipeline name alone is compared).
    std::string destination;
    std::string key;
    int64_t started_unix_ms = 0;
    int64_t finished_unix_ms = 0;  // when the data object committed
    int64_t duration_ms = 0;
    uint64_t raw_bytes = 0;     // what the source produced, before transforms
    uint64_t stored_bytes = 0;  // what the sink stored
    std::string sha256;         // lower-case hex of the stored bytes
    std::vector<ManifestStage> stages;
    std::map<std::string, std::string> variables;  // published by stages ({database}, {server_version}, {ext}, ...)
    std::string backhaul_version;
    // A set's objects (format 2); empty for a one-stream backup (format 1), whose data is `key` itself.
    std::vector<ManifestObject> objects;

    bool is_set() const { return !objects.empty(); }
    std::string to_json() const;
    // Throws std::runtime_error naming the first missing or mistyped field. A set's objects must each lie under
    // "<key>/", with well-formed, distinct stream names and keys: a manifest can never make Backhaul read, verify or
    // delete an object outside its own set.
    static BackupManifest from_json(std::string_view text);
};

// A pending marker (see kPendingSuffix).
struct PendingMarker {
    std::string pipeline;
    std::string destination;
    std::string key;
    int64_t started_unix_ms = 0;
    // A set's run: every object key it may write, each under "<key>/", known before the first upload begins. What
    // proves that such objects, left without a manifest, are this pipeline's.
    std::vector<std::string> objects;

    std::string to_json() const;
    // Throws std::runtime_error unless `text` is a marker (and its objects lie under "<key>/").
    static PendingMarker from_json(std::string_view text);
};

// The key of a set's stream: "<set key>/" + each '/'-separated segment of the stream name percent-encoded (every
// byte but A-Z a-z 0-9 . _ - as %XX, upper-case hex) + `ext` (the stream's extension, then the transforms'). Any
// name, with quotes, spaces or non-ASCII letters, becomes one safe key, and distinct names distinct keys.
std::string stream_object_key(const std::string& set_key, const std::string& stream_name, const std::string& ext);
// The stream name as stream_object_key encodes it below the set key ("databases/Caf%C3%A9"): also the relative path
// of a stream restored into a directory.
std::string encoded_stream_name(const std::string& stream_name);

std::string manifest_key(const std::string& data_key);
std::string pending_key(const std::string& data_key);
bool is_manifest_key(std::string_view key);
bool is_pending_key(std::string_view key);
// A manifest or a pending marker: never a backup's data.
bool is_metadata_key(std::string_view key);
// The data key a metadata key describes.
std::string data_key_of(std::string_view metadata_key);

}  // namespace backhaul
