// `backhaul keygen age [--output FILE]`: a new age identity for encrypt-age. The identity goes to FILE (created 0600,
// never overwritten) or, without --output, to standard output; the recipient to put in the pipeline is printed on
// standard error like age-keygen does, so stdout can be redirected into a key file.
#include <cstdio>
#include <optional>
#include <string>

#include "age_keygen.hpp"
#include "cli/command_line.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

struct KeygenOptions {
    std::string kind;
    std::optional<std::string> output;
};

int keygen(const KeygenOptions& options) {
    age::AgeKeyPair keys = age::generate_age_keypair();
    if (options.output) {
        try {
            age::write_identity_file(*options.output, keys);
        } catch (const std::exception& e) {
            Log::print(BH_LOG_ERROR, std::string("backhaul: keygen: ") + e.what());
            return static_cast<int>(ExitCode::run_failed);
        }
        Log::print(BH_LOG_INFO, "identity written to " + *options.output);
    } else {
        std::fputs(age::format_identity_file(keys).c_str(), stdout);
    }
    Log::print(BH_LOG_INFO, "Public key: " + keys.recipient);
    return 0;
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
