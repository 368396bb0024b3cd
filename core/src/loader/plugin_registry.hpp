// Finding and loading plugin shared objects. Every library loaded here stays loaded for the life of the process, so a
// descriptor pointer (and everything it points to) is valid forever once load_file() returned.
#pragma once

#include <backhaul/plugin_abi.h>

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backhaul {

// A plugin whose descriptor passed validate_descriptor(). The accessors read the descriptor, which is static data
// inside the library.
struct LoadedPlugin {
    std::filesystem::path path;  // absolute
    const bh_plugin_descriptor* descriptor = nullptr;

    std::string_view name() const { return descriptor->name; }
    bh_kind kind() const { return descriptor->kind; }
    std::string_view version() const { return descriptor->version; }
    std::string_view description() const { return descriptor->description; }
    std::span<const bh_option_spec> options() const;
    std::span<const bh_option_spec> restore_options() const;
    // Names the plugin publishes with bh_host.set_variable (empty if it declares none).
    std::vector<std::string_view> variables() const;

    // ABI 1.2 parts; empty for plugins built against an earlier minor. (Its entries: plugin_handle.hpp.)
    std::span<const bh_option_limits> limits() const;
    // The least share of the memory budget the plugin needs per stream (ABI 1.4); 0 = it takes no share.
    uint64_t memory_min() const;
    std::span<const bh_option_limits> restore_limits() const;
};

// The plugins loaded so far, by name. Never emptied: LoadedPlugin pointers stay valid as long as the registry lives.
class PluginRegistry {
  public:
    // Loads every regular file named *.so directly in `dir`, in file-name order so the first of two duplicates is
    // always the same one. A directory that does not exist is skipped. Throws PluginLoadError.
    void load_directory(const std::filesystem::path& dir);

    // Loads one plugin. Loading the same library again (same file, or a link to it) does nothing. Throws
    // PluginLoadError, whose what() is one line starting with the absolute file path.
    void load_file(const std::filesystem::path& file);

    const LoadedPlugin* find(std::string_view name) const;  // nullptr if absent
    std::vector<const LoadedPlugin*> plugins() const;       // sorted by name

  private:
    std::map<std::string, LoadedPlugin, std::less<>> plugins_by_name_;
};

// Directories to load plugins from, in order: the install's plugin dir (next to the executable), each non-empty entry
// of the colon-separated environment variable BACKHAUL_PLUGIN_PATH, then the pipeline's plugin_path with relative
// entries resolved against `pipeline_dir`. All entries are absolute; they need not exist.
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& pipeline_plugin_path,
                                                      const std::filesystem::path& pipeline_dir);

// "secret", "source", "transform", "sink", "notifier"; "unknown" for any other value.
std::string kind_name(bh_kind kind);

}  // namespace backhaul
