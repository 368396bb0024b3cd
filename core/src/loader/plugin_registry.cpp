#include "loader/plugin_registry.hpp"

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "loader/descriptor_validation.hpp"
#include "loader/plugin_handle.hpp"
#include "util/install_layout.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;

// Every library opened successfully, accepted or not, is kept open until the process exits: its constructors may have
// started threads or registered callbacks, and plugin instances and descriptors must never outlive their code. The
// list is deliberately never destroyed, so not even static destruction at exit unloads a plugin.
void keep_loaded_for_process_lifetime(boost::dll::shared_library library) {
    static std::mutex mutex;
    static auto* const libraries = new std::vector<boost::dll::shared_library>;
    const std::lock_guard lock(mutex);
    libraries->push_back(std::move(library));
}

// Boost.DLL's message is "<operation> failed (dlerror system message: <dlerror>): <errno text>". The dlerror text is
// what the user needs (e.g. "undefined symbol: x"); dlopen prefixes it with the path, which our message already has.
std::string load_failure_reason(const fs::path& file, const std::system_error& error) {
    const std::string what = error.what();
    const std::string marker = "(dlerror system message: ";
    const std::size_t start = what.find(marker);
    const std::size_t end = what.rfind(')');
    if (start == std::string::npos || end == std::string::npos || end < start + marker.size()) {
        return error.code().message();
    }
    std::string reason = what.substr(start + marker.size(), end - start - marker.size());
    const std::string path_prefix = file.string() + ": ";
    if (reason.starts_with(path_prefix)) reason.erase(0, path_prefix.size());
    return reason;
}

fs::path absolute_normal(const fs::path& path) { return fs::absolute(path).lexically_normal(); }

boost::dll::shared_library open_library(const fs::path& path) {
    try {
        return boost::dll::shared_library(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::system_error& error) {
        throw_plugin_load_error(path, "cannot load: " + load_failure_reason(path, error));
    }
}

}  // namespace

std::span<const bh_option_spec> LoadedPlugin::options() const {
    if (descriptor->options == nullptr) return {};
    return {descriptor->options, descriptor->option_count};
}

std::span<const bh_option_spec> LoadedPlugin::restore_options() const {
    if (descriptor->restore_options == nullptr) return {};
    return {descriptor->restore_options, descriptor->restore_option_count};
}

std::vector<std::string_view> LoadedPlugin::variables() const {
    std::vector<std::string_view> names;
    if (descriptor->variables == nullptr) return names;
    for (const char* const* name = descriptor->variables; *name != nullptr; ++name) names.emplace_back(*name);
    return names;
}

std::span<const bh_option_limits> LoadedPlugin::limits() const {
    if (!built_for_abi_minor(*descriptor, 2) || descriptor->limits == nullptr) return {};
    return {descriptor->limits, descriptor->limit_count};
}

uint64_t LoadedPlugin::memory_min() const { return built_for_abi_minor(*descriptor, 4) ? descriptor->memory_min : 0; }

std::span<const bh_option_limits> LoadedPlugin::restore_limits() const {
    if (!built_for_abi_minor(*descriptor, 2) || descriptor->restore_limits == nullptr) return {};
    return {descriptor->restore_limits, descriptor->restore_limit_count};
}

void PluginRegistry::load_directory(const fs::path& dir) {
    const fs::path absolute_dir = absolute_normal(dir);
    std::error_code ec;
    const fs::file_status status = fs::status(absolute_dir, ec);
    if (status.type() == fs::file_type::not_found) return;
    if (ec) throw_plugin_load_error(absolute_dir, "cannot read plugin directory: " + ec.message());
    if (status.type() != fs::file_type::directory) {
        throw_plugin_load_error(absolute_dir, "plugin directory is not a directory");
    }

    std::vector<fs::path> files;
    fs::directory_iterator entries(absolute_dir, ec);
    for (; !ec && entries != fs::directory_iterator(); entries.increment(ec)) {
        if (entries->path().extension() == ".so" && entries->is_regular_file()) files.push_back(entries->path());
    }
    if (ec) throw_plugin_load_error(absolute_dir, "cannot read plugin directory: " + ec.message());

    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) load_file(file);
}

void PluginRegistry::load_file(const fs::path& file) {
    const fs::path path = absolute_normal(file);
    boost::dll::shared_library library = open_library(path);

    if (!library.has(BH_PLUGIN_ENTRY_NAME)) {
        keep_loaded_for_process_lifetime(std::move(library));
        throw_plugin_load_error(path, "not a Backhaul plugin (no " BH_PLUGIN_ENTRY_NAME " symbol)");
    }
    // Function type, not pointer type: get<T*> would read the function's code as a pointer (Boost.DLL#49).
    bh_plugin_entry_fn& entry = library.get<bh_plugin_entry_fn>(BH_PLUGIN_ENTRY_NAME);
    keep_loaded_for_process_lifetime(std::move(library));

    const bh_plugin_descriptor* descriptor = entry();
    if (descriptor == nullptr) throw_plugin_load_error(path, BH_PLUGIN_ENTRY_NAME " returned no descriptor");
    validate_descriptor(path, *descriptor);

    if (const LoadedPlugin* loaded = find(descriptor->name)) {
        // dlopen hands out the same mapping for the same file under any name, hence the same descriptor.
        if (loaded->descriptor == descriptor) return;
        throw_plugin_load_error(
            path, "plugin '" + std::string(descriptor->name) + "' is already loaded from " + loaded->path.string());
    }
    plugins_by_name_.emplace(descriptor->name, LoadedPlugin{path, descriptor});
}

const LoadedPlugin* PluginRegistry::find(std::string_view name) const {
    const auto it = plugins_by_name_.find(name);
    return it == plugins_by_name_.end() ? nullptr : &it->second;
}

std::vector<const LoadedPlugin*> PluginRegistry::plugins() const {
    std::vector<const LoadedPlugin*> sorted;
    sorted.reserve(plugins_by_name_.size());
    for (const auto& [name, plugin] : plugins_by_name_) sorted.push_back(&plugin);
    return sorted;
}

std::vector<fs::path> plugin_search_path(const std::vector<std::string>& pipeline_plugin_path,
                                         const fs::path& pipeline_dir) {
    std::vector<fs::path> dirs;

    if (std::optional<fs::path> install_dir = beside_executable(BACKHAUL_PLUGIN_RELATIVE_DIR))
        dirs.push_back(std::move(*install_dir));

    if (const char* env = std::getenv("BACKHAUL_PLUGIN_PATH")) {
        std::string_view rest = env;
        while (!rest.empty()) {
            const std::size_t colon = rest.find(':');
            const std::string_view entry = rest.substr(0, colon);
            if (!entry.empty()) dirs.push_back(absolute_normal(entry));
            rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
        }
    }

    const fs::path base = absolute_normal(pipeline_dir);
    for (const std::string& entry : pipeline_plugin_path) {
        if (!entry.empty()) dirs.push_back((base / entry).lexically_normal());
    }
    return dirs;
}

std::string kind_name(bh_kind kind) {
    switch (kind) {
        case BH_KIND_SECRET:
            return "secret";
        case BH_KIND_SOURCE:
            return "source";
        case BH_KIND_TRANSFORM:
            return "transform";
        case BH_KIND_SINK:
            return "sink";
        case BH_KIND_NOTIFIER:
            return "notifier";
    }
    return "unknown";
}

}  // namespace backhaul
