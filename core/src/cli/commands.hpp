// Every command of `backhaul`, in the order `backhaul --help` lists them. A command is one file,
// cli/NAME_command.cpp, defining `void add_NAME_command(CommandLine&)`, and one line here.
#pragma once

#define BACKHAUL_COMMANDS(COMMAND) \
    COMMAND(run)                   \
    COMMAND(list)                  \
    COMMAND(verify)                \
    COMMAND(prune)                 \
    COMMAND(validate)              \
    COMMAND(check)                 \
    COMMAND(restore)               \
    COMMAND(plugins)               \
    COMMAND(keygen)

namespace backhaul {

class CommandLine;

#define BACKHAUL_DECLARE_COMMAND(name) void add_##name##_command(CommandLine& cli);
BACKHAUL_COMMANDS(BACKHAUL_DECLARE_COMMAND)
#undef BACKHAUL_DECLARE_COMMAND

}  // namespace backhaul
