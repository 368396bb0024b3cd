// `backhaul keygen age [--output FILE]`: a new age identity for encrypt-age. The identity goes to FILE (created 0600,
// never overwritten) or, without --output, to standard output; the recipient to put in the pipeline is printed on
// standard error like age-keygen does, so stdout can be redirected into a key file.
#include <cstdio>
#include <string>

#include "age_keygen.hpp"
#include "cli/arguments.hpp"
#include "errors.hpp"

namespace backhaul {

int cmd_keygen(const Arguments& args) {
    if (args.positional.size() != 2 || args.positional[1] != "age")
        throw UsageError("usage: backhaul keygen age [--output FILE]");
    auto flags = parse_flags(args.rest, {{"--output", true}}, "keygen");
    age::AgeKeyPair keys = age::generate_age_keypair();
    if (auto output = flags.find("--output"); output != flags.end()) {
        try {
            age::write_identity_file(output->second, keys);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "backhaul: keygen: %s\n", e.what());
            return static_cast<int>(ExitCode::run_failed);
        }
        std::fprintf(stderr, "identity written to %s\n", output->second.c_str());
    } else {
        std::fputs(age::format_identity_file(keys).c_str(), stdout);
    }
    std::fprintf(stderr, "Public key: %s\n", keys.recipient.c_str());
    return 0;
}

}  // namespace backhaul
