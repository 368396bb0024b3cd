// Times as the CLI, manifests and logs print them (sizes: <backhaul/common/human_bytes.hpp>).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace backhaul {

// "2025-11-24T17:15:02Z" (seconds precision, UTC).
std::string utc_iso8601(int64_t unix_ms);
int64_t unix_ms(std::chrono::system_clock::time_point time);
// "1h02m03s", "4.21s".
std::string human_duration(int64_t ms);

}  // namespace backhaul
