// What makes a plugin descriptor acceptable to this host: the ABI version rule of plugin_abi.h and the descriptor's
// own consistency (name, kind, function tables, option tables). Separate from loading so the rules can be checked on
// descriptors built in-process.
#pragma once

#include <backhaul/plugin_abi.h>

#include <filesystem>
#include <string>

namespace backhaul {

// The one format of every loader error: PluginLoadError "<file>: <reason>", one line.
[[noreturn]] void throw_plugin_load_error(const std::filesystem::path& file, const std::string& reason);

// Throws PluginLoadError "<file>: <reason>" for the first problem found. Reads only fields inside the descriptor's
// struct_size (and of each function table, inside its struct_size).
void validate_descriptor(const std::filesystem::path& file, const bh_plugin_descriptor& descriptor);

}  // namespace backhaul
