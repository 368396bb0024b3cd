// Byte counts for messages, in the format the core prints them: "1.5 GiB", "97.7 KiB", "512 B" (common/).
#pragma once

#include <backhaul/common/human_bytes.hpp>

namespace backhaul {

using common::human_bytes;

}  // namespace backhaul
