// Byte counts as people read them, the one format of the CLI, the logs and the plugins' messages: binary units with
// one decimal ("1.5 GiB", "97.7 KiB"), whole bytes below 1 KiB ("512 B"), TiB the largest unit. Plugins reach it as
// <backhaul/support/text/human_bytes.hpp>.
#pragma once

#include <cstdint>
#include <string>

namespace backhaul::common {

std::string human_bytes(uint64_t n);
// Signed counts (the ABI's sizes are int64_t): a negative one, which no caller means to pass, reads as "0 B".
inline std::string human_bytes(int64_t n) { return human_bytes(n < 0 ? uint64_t{0} : static_cast<uint64_t>(n)); }

}  // namespace backhaul::common
