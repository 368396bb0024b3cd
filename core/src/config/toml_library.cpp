// toml++'s implementation, compiled once for the whole build: every user of backhaul_core sees TOML_HEADER_ONLY=0
// (core/CMakeLists.txt), so the files that include <toml++/toml.h> parse only its declarations.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
