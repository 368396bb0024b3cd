// Where the parts of an installation are: relative to the running `backhaul`, so that the build tree (which mirrors
// the install tree) and any install prefix work alike, without a path compiled in.
#pragma once

#include <filesystem>
#include <optional>

namespace backhaul {

// <directory of this executable>/relative, canonical where it exists; nullopt when /proc/self/exe cannot be read.
std::optional<std::filesystem::path> beside_executable(const std::filesystem::path& relative);

}  // namespace backhaul
