// The `backhaul` command line: parses arguments, runs one command, maps errors to the documented exit codes.
#pragma once

namespace backhaul {

int run_cli(int argc, char** argv);

}  // namespace backhaul
