// `backhaul verify`: reads a backup back from the sink, checks its size and SHA-256 against its manifest while
// streaming, and runs the whole decode chain (decompress, decrypt) into nothing, so a backup that verifies is one
// that restores. A set (docs/sets.md) is checked object by object, each against its own entry in the manifest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/interpolation.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

// One object of a set that verified.
struct VerifiedObject {
    std::string stream;  // the manifest's stream name
    std::string key;
    uint64_t stored_bytes = 0;
    uint64_t decoded_bytes = 0;
    std::string sha256;
};

struct VerifyResult {
    std::string key;             // a set's: the set key
    uint64_t stored_bytes = 0;   // read from the sink (a set: over all its objects)
    uint64_t decoded_bytes = 0;  // after the decode chain; equals the manifest's raw_bytes
    std::string sha256;          // of the stored bytes; "" for a set (each object has its own)
    bool is_set = false;
    std::vector<VerifiedObject> objects;  // a set's, in its manifest's order
};

// `key` nullopt = the newest complete backup (a set or not). Throws RunError "verify 'KEY': ..." naming every
// mismatch found (size, SHA-256, decoding, decoded size; for a set each prefixed with its stream, and objects missing
// from the sink), or why it could not check (no manifest: the backup is incomplete).
// Reads the copy on `sink`, one of plan.sinks.
VerifyResult run_verify(const PipelinePlan& plan, const SinkPlan& sink, RunControl& control,
                        const ValueResolver& secrets, const std::optional<std::string>& key);

}  // namespace backhaul
