// The bh_host a plugin instance talks to: logs attributed to its stage, the run's cancellation flag, the error behind
// a failed call, and the variables it publishes.
#pragma once

#include <backhaul/plugin_abi.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/run_control.hpp"
#include "loader/plugin_handle.hpp"

namespace backhaul {

class StageHost : public InstanceHost {
  public:
    // `label` names the stage in logs and errors, e.g. "source (source-command)". `control` outlives this object.
    // `memory_share` is what bh_host.memory_share answers (StagePlan::memory_share).
    StageHost(std::string label, const RunControl& control, uint64_t memory_share = 0);
    StageHost(const StageHost&) = delete;
    StageHost& operator=(const StageHost&) = delete;

    const bh_host* raw() const override { return &host_; }
    const std::string& label() const { return label_; }

    // The message of the last set_error call made on the calling thread (already scrubbed), and forgets it; if that
    // thread made none, the latest one of any thread. "" if none. Per thread because the streams of one instance
    // may fail at once on their own threads, and each call must report its own error.
    std::string take_error() override;
    std::map<std::string, std::string> variables() const;

  private:
    static void log(void* ctx, bh_log_level level, const char* message);
    static int32_t is_cancelled(void* ctx);
    static void set_error(void* ctx, const char* message, const char* detail);
    static void set_variable(void* ctx, const char* name, const char* value);
    static uint64_t memory_share(void* ctx);

    std::string label_;
    const RunControl& control_;
    const uint64_t memory_share_;
    bh_host host_;
    struct PendingError {
        std::thread::id thread;
        std::string message;
    };
    mutable std::mutex mutex_;
    std::vector<PendingError> errors_;  // not yet taken, oldest first; at most one per thread
    std::map<std::string, std::string> variables_;
};

}  // namespace backhaul
