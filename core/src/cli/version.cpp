#include "cli/version.hpp"

#include <cstdio>
#include <filesystem>

#include "errors.hpp"
#include "loader/plugin_registry.hpp"

// Set for this file only (core/CMakeLists.txt), so that a new commit recompiles one file.
#ifndef BACKHAUL_COMMIT
#define BACKHAUL_COMMIT "unknown"
#endif

namespace backhaul {

void print_version() {
    std::printf("backhaul %s\ncommit %s\nplugin ABI %d.%d\n", BACKHAUL_VERSION, BACKHAUL_COMMIT, BH_ABI_MAJOR,
                BH_ABI_MINOR);
    PluginRegistry registry;
    std::vector<std::string> problems;
    for (const auto& dir : plugin_search_path({}, std::filesystem::current_path())) {
        try {
            registry.load_directory(dir);
        } catch (const PluginLoadError& e) {
            problems.push_back(e.what());
        }
    }
    std::printf("plugins:%s\n", registry.plugins().empty() ? " none found" : "");
    for (const LoadedPlugin* p : registry.plugins())
        std::printf("  %-20s %-8s %s\n", p->descriptor->name, p->descriptor->version ? p->descriptor->version : "",
                    p->path.c_str());
    for (const std::string& problem : problems) std::printf("  not loaded: %s\n", problem.c_str());
}

}  // namespace backhaul
