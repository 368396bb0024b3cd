// Helpers for the engine's stage threads that call a plugin's streaming functions.
#pragma once

#include <span>
#include <string_view>

#include "engine/plugin_instance.hpp"
#include "engine/run_control.hpp"
#include "engine/stream_pipeline.hpp"
#include "errors.hpp"

namespace backhaul {

// Checks a streaming call's status: a cancellation caused elsewhere is not this stage's error.
inline void check_stream_call(PluginInstance& stage, const RunControl& control, bh_status status,
                              std::string_view what) {
    if (status == BH_CANCELLED && control.cancelled()) throw StageCancelled{};
    stage.check(status, what);
}

// Reads from a plugin's C read function (source stream or sink object reader) for the engine's producer thread.
// Returns 0 at the end of the stream.
template <class ReadFn>
size_t read_from(PluginInstance& stage, const RunControl& control, ReadFn read, void* handle,
                 std::span<uint8_t> buffer) {
    for (;;) {
        size_t len = 0;
        bh_status status = read(handle, buffer.data(), buffer.size(), &len);
        if (status == BH_END_OF_STREAM) return 0;
        check_stream_call(stage, control, status, "read");
        if (len > buffer.size()) throw RunError(stage.label() + ": read returned more bytes than asked for");
        if (len > 0) return len;
        if (control.cancelled()) throw StageCancelled{};
    }
}

}  // namespace backhaul
