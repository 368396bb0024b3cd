#include "errors.hpp"

namespace backhaul {

std::string SourcePosition::to_string() const {
    if (line == 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ConfigError::ConfigError(SourcePosition where, const std::string& message)
    : std::runtime_error(where.to_string() + ": " + message), where_(std::move(where)), message_(message) {}

}  // namespace backhaul
