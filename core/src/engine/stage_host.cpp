#include "engine/stage_host.hpp"

#include <algorithm>
#include <utility>

#include "util/log.hpp"

namespace backhaul {

StageHost::StageHost(std::string label, const RunControl& control, uint64_t memory_share)
    : label_(std::move(label)), control_(control), memory_share_(memory_share), host_{sizeof(bh_host),
                                                                                      this,
                                                                                      &StageHost::log,
                                                                                      &StageHost::is_cancelled,
                                                                                      &StageHost::set_error,
                                                                                      &StageHost::set_variable,
                                                                                      &StageHost::memory_share} {}

std::string StageHost::take_error() {
    std::lock_guard lock(mutex_);
    if (errors_.empty()) return {};
    auto mine = std::find_if(errors_.begin(), errors_.end(),
                             [](const PendingError& e) { return e.thread == std::this_thread::get_id(); });
    auto taken = mine != errors_.end() ? mine : errors_.end() - 1;
    std::string message = std::move(taken->message);
    errors_.erase(taken);
    return message;
}

std::map<std::string, std::string> StageHost::variables() const {
    std::lock_guard lock(mutex_);
    return variables_;
}

void StageHost::log(void* ctx, bh_log_level level, const char* message) {
    auto* self = static_cast<StageHost*>(ctx);
    Log::write(level, self->label_, message ? message : "");
}

int32_t StageHost::is_cancelled(void* ctx) { return static_cast<StageHost*>(ctx)->control_.cancelled() ? 1 : 0; }

void StageHost::set_error(void* ctx, const char* message, const char* detail) {
    auto* self = static_cast<StageHost*>(ctx);
    std::string line = Log::scrub(message ? message : "");
    for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    if (detail && *detail) Log::write(BH_LOG_DEBUG, self->label_, detail);
    const std::thread::id thread = std::this_thread::get_id();
    std::lock_guard lock(self->mutex_);
    std::erase_if(self->errors_, [&](const PendingError& e) { return e.thread == thread; });
    self->errors_.push_back({thread, std::move(line)});
}

uint64_t StageHost::memory_share(void* ctx) { return static_cast<StageHost*>(ctx)->memory_share_; }

void StageHost::set_variable(void* ctx, const char* name, const char* value) {
    if (!name || !value) return;
    auto* self = static_cast<StageHost*>(ctx);
    std::lock_guard lock(self->mutex_);
    self->variables_[name] = value;
}

}  // namespace backhaul
