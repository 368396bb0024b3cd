#include "util/install_layout.hpp"

#include <system_error>

namespace backhaul {

std::optional<std::filesystem::path> beside_executable(const std::filesystem::path& relative) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path executable = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return std::nullopt;
    const fs::path dir = executable.parent_path() / relative;
    const fs::path canonical = fs::weakly_canonical(dir, ec);
    return ec ? dir.lexically_normal() : canonical;
}

}  // namespace backhaul
