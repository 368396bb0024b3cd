// backhaul-age-keygen [--output FILE]: the program behind `backhaul keygen age`. It belongs to the encrypt-age plugin
// so that the core never links plugin code; the core finds it in its helper directory and runs it in its place.
// Behaviour is age-keygen's: the identity goes to FILE (created 0600, never overwritten) or to standard output, and
// the recipient is printed on standard error, so stdout can be redirected into a key file.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "age_keygen.hpp"

namespace {

// The core's documented exit codes (docs/operations.md): 1 = the command failed, 2 = bad command line.
constexpr int kFailed = 1;
constexpr int kUsage = 2;

int usage(const char* problem) {
    std::fprintf(stderr, "backhaul: keygen: %s\nusage: backhaul keygen age [--output FILE]\n", problem);
    return kUsage;
}

}  // namespace

int main(int argc, char** argv) {
    const char* output = nullptr;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "-o" || arg == "--output") && i + 1 < argc && !output) {
            output = argv[++i];
        } else if (arg.starts_with("--output=") && !output) {
            output = argv[i] + std::strlen("--output=");
        } else {
            return usage(("unexpected argument '" + arg + "'").c_str());
        }
    }
    if (output && !*output) return usage("--output needs a file name");
    try {
        backhaul::age::AgeKeyPair keys = backhaul::age::generate_age_keypair();
        if (output) {
            backhaul::age::write_identity_file(output, keys);
            std::fprintf(stderr, "identity written to %s\n", output);
        } else {
            const std::string text = backhaul::age::format_identity_file(keys);
            if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
                std::fprintf(stderr, "backhaul: keygen: cannot write the identity to standard output\n");
                return kFailed;
            }
        }
        std::fprintf(stderr, "Public key: %s\n", keys.recipient.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "backhaul: keygen: %s\n", e.what());
        return kFailed;
    }
}
