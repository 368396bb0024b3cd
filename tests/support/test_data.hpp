// Inputs for stream tests (incompressible and highly repetitive data) and feeding data to an independent CLI tool.
// Header-only, shared by the transform plugins' tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "command_runner.hpp"

namespace backhaul::testing {

// `size` pseudo-random bytes, the same for the same seed.
inline std::string random_bytes(size_t size, uint32_t seed) {
    std::mt19937 engine(seed);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(engine() & 0xff);
    return out;
}

// SQL-like lines, as compressible as a real dump's data sections.
inline std::string repetitive_text(size_t size) {
    std::string out;
    for (int line = 0; out.size() < size; ++line)
        out += "INSERT INTO t VALUES (" + std::to_string(line % 1000) + ");\n";
    out.resize(size);
    return out;
}

// Runs a CLI tool with `input` on its stdin.
inline CommandResult pipe_through(const std::vector<std::string>& argv, const std::string& input) {
    CommandOptions options;
    options.stdin_data = input;
    return run_command(argv, options);
}

}  // namespace backhaul::testing
