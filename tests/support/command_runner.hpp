// Backhaul's own tests use the contract kit's process helpers (sdk/testkit) under their usual names.
#pragma once

#include <backhaul/testkit/process.hpp>

namespace backhaul::testing {
using testkit::CommandOptions;
using testkit::CommandResult;
using testkit::files_below;
using testkit::read_file;
using testkit::run_command;
using testkit::RunningCommand;
using testkit::TempDir;
using testkit::write_file;
}  // namespace backhaul::testing
