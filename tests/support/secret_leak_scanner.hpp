// Backhaul's own tests use the contract kit's secret leak scanner (sdk/testkit) under its usual names.
#pragma once

#include <backhaul/testkit/secret_leak_scanner.hpp>

namespace backhaul::testing {
using testkit::SecretLeakScanner;
using testkit::unique_secret;
}  // namespace backhaul::testing
