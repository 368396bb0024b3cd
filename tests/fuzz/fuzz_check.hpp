// What a fuzz target does when it finds a broken invariant: print it and abort, which libFuzzer reports as a crash
// (and saves the input) and the regression replay reports as a failed test.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace backhaul {

[[noreturn]] inline void fuzz_fail(const std::string& what) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
    std::abort();
}

}  // namespace backhaul
