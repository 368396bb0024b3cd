// The bh_host a plugin instance talks to: logs attributed to its stage, the run's cancellation flag, the error behind
// a failed call, and the variables it publishes.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include <backhaul/plugin_abi.h>

#include "engine/run_control.hpp"

namespace backhaul {

class StageHost {
public:
    // `label` names the stage in logs and errors, e.g. "source (source-command)". `control` outlives this object.
    StageHost(std::string label, const RunControl& control);
    StageHost(const StageHost&) = delete;
    StageHost& operator=(const StageHost&) = delete;

    const bh_host* raw() const { return &host_; }
    const std::string& label() const { return label_; }

    // The message of the last set_error call (already scrubbed), and forgets it. "" if none.
    std::string take_error();
    std::map<std::string, std::string> variables() const;

private:
    static void log(void* ctx, bh_log_level level, const char* message);
    static int32_t is_cancelled(void* ctx);
    static void set_error(void* ctx, const char* message, const char* detail);
    static void set_variable(void* ctx, const char* name, const char* value);

    std::string label_;
    const RunControl& control_;
    bh_host host_;
    mutable std::mutex mutex_;
    std::string error_;
    std::map<std::string, std::string> variables_;
};

}  // namespace backhaul
