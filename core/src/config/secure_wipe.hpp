// Overwrites memory that held a secret before it is freed, so it does not linger in the heap.
#pragma once

#include <string>

namespace backhaul {

// Zeroes the whole capacity of `text` (a compiler may not elide it) and leaves it empty.
void secure_wipe(std::string& text);

}  // namespace backhaul
