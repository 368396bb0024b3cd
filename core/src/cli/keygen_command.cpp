// `backhaul keygen age [--output FILE]`: a new age identity for encrypt-age. The age key format belongs to the
// encrypt-age plugin, and the core links no plugin code (docs/architecture.md, "Layering"), so the core parses the
// command line (one definition, one completion and man page) and then runs the plugin's helper program
// backhaul-age-keygen in its own place: same standard streams, its exit status is the command's.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_line.hpp"
#include "errors.hpp"
#include "util/install_layout.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;

struct KeygenOptions {
    std::string kind;
    std::optional<std::string> output;
};

// Helpers live in <libexecdir>/backhaul, found relative to this executable like the plugins.
fs::path helper_program(const std::string& name) {
    return beside_executable(BACKHAUL_HELPER_RELATIVE_DIR).value_or(BACKHAUL_HELPER_INSTALL_DIR) / name;
}

int keygen(const KeygenOptions& options) {
    const fs::path helper = helper_program("backhaul-age-keygen");
    std::vector<std::string> args = {helper.string()};
    if (options.output) args.insert(args.end(), {"--output", *options.output});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);
    ::execv(helper.c_str(), argv.data());
    const int error = errno;
    Log::print(BH_LOG_ERROR, "backhaul: keygen: cannot run " + helper.string() + ": " + std::strerror(error) +
                                 (error == ENOENT ? " (it comes with the encrypt-age plugin; age-keygen makes the "
                                                    "same keys)"
                                                  : ""));
    return static_cast<int>(ExitCode::run_failed);
}

}  // namespace

void add_keygen_command(CommandLine& cli) {
    auto options = std::make_shared<KeygenOptions>();
    CLI::App& command =
        cli.add_command("keygen", "create an age identity for encrypt-age (mode 0600); prints its recipient",
                        [options](const Invocation&) { return keygen(*options); });
    cli.add_choice(command, "KIND", options->kind, {"age"}, "the kind of key")->required();
    command.add_option("-o,--output", options->output, "write the identity to FILE (created 0600, never overwritten)")
        ->type_name("FILE");
}

}  // namespace backhaul
