// `backhaul verify`: reads a backup back from the sink, checks its size and SHA-256 against its manifest while
// streaming, and runs the whole decode chain (decompress, decrypt) into nothing, so a backup that verifies is one
// that restores.
#pragma once

#include <optional>
#include <string>

#include "config/interpolation.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

struct VerifyResult {
    std::string key;
    uint64_t stored_bytes = 0;   // read from the sink
    uint64_t decoded_bytes = 0;  // after the decode chain; equals the manifest's raw_bytes
    std::string sha256;
};

// `key` nullopt = the newest complete backup. Throws RunError "verify 'KEY': ..." naming every mismatch found (size,
// SHA-256, decoding, decoded size), or why it could not check (no manifest: the backup is incomplete).
VerifyResult run_verify(const PipelinePlan& plan, RunControl& control, const ValueResolver& secrets,
                        const std::optional<std::string>& key);

}  // namespace backhaul
