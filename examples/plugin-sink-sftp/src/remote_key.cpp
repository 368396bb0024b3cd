#include "remote_key.hpp"

#include <backhaul/sdk.hpp>
#include <cstdio>
#include <random>
#include <string_view>

namespace backhaul::sftp {
namespace {

constexpr std::string_view kTempMarker = ".backhaul-tmp-";

[[noreturn]] void throw_escape(const std::string& key) {
    throw Error(Status::fatal, "key '" + key + "' escapes the sink directory");
}

}  // namespace

RemoteKey parse_key(const std::string& key) {
    if (key.empty() || key.front() == '/') throw_escape(key);
    RemoteKey out{key, {}, {}};
    size_t start = 0;
    while (true) {
        size_t slash = key.find('/', start);
        std::string segment = key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        // "a//b" and "a/" are refused too: every key names exactly one file.
        if (segment.empty() || segment == "." || segment == "..") throw_escape(key);
        if (slash == std::string::npos) {
            out.file_name = segment;
            break;
        }
        out.directories.push_back(segment);
        start = slash + 1;
    }
    if (is_temp_file_name(out.file_name))
        throw Error(Status::fatal, "key '" + key + "' is reserved for temporary upload files");
    return out;
}

bool is_temp_file_name(const std::string& file_name) {
    return file_name.starts_with('.') && file_name.find(kTempMarker) != std::string::npos;
}

std::string temp_file_name(const std::string& final_name) {
    std::random_device random;
    std::uniform_int_distribution<unsigned long long> any;
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", any(random));
    return "." + final_name + std::string(kTempMarker) + suffix;
}

std::string join_path(const std::string& base, const std::vector<std::string>& segments, size_t count) {
    std::string out = base;
    for (size_t i = 0; i < count && i < segments.size(); ++i) out = join_path(out, segments[i]);
    return out;
}

std::string join_path(const std::string& base, const std::string& relative) {
    if (relative.empty()) return base;
    if (base.empty()) return relative;
    return base.back() == '/' ? base + relative : base + "/" + relative;
}

}  // namespace backhaul::sftp
