// Memory for secret values that is wiped (OPENSSL_cleanse) before it goes back to the heap. SecretString is a string
// whose every buffer, including the ones it drops when it grows, is wiped on release; use it for response bodies and
// parsed secret values so that no copy outlives its use. A string short enough to live inside the object itself (no
// allocation) is not seen by the allocator: objects that hold secrets also wipe() their strings when destroyed. Plain
// std::string copies are wiped with wipe(). The same code wipes the core's secrets (common/).
#pragma once

#include <backhaul/common/secure_memory.hpp>

namespace backhaul::crypto {

using common::SecretString;
using common::wipe;
using common::WipingAllocator;

}  // namespace backhaul::crypto
