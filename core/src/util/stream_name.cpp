#include "util/stream_name.hpp"

namespace backhaul {

std::string stream_name_problem(std::string_view name) {
    if (name.empty()) return "is empty";
    if (name.find('\0') != std::string_view::npos) return "contains a NUL byte";
    size_t start = 0;
    while (true) {
        size_t slash = name.find('/', start);
        std::string_view segment = name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
        if (segment.empty()) return "has an empty segment";
        if (segment == "." || segment == "..") return "has a segment '" + std::string(segment) + "'";
        if (slash == std::string_view::npos) return "";
        start = slash + 1;
    }
}

}  // namespace backhaul
