// `backhaul plugins [--json]` and `backhaul plugins describe NAME [--json]`: the plugins found and their option
// tables, read without running plugin code.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_line.hpp"
#include "config/option_binding.hpp"
#include "errors.hpp"
#include "loader/plugin_registry.hpp"

namespace backhaul {
namespace {

struct PluginsOptions {
    bool json = false;
    std::string name;  // describe
    bool describe_json = false;
};

std::string option_text(const char* text) { return text ? text : ""; }

const char* type_name(bh_option_type type) {
    switch (type) {
        case BH_OPT_STRING:
            return "string";
        case BH_OPT_INT:
            return "int";
        case BH_OPT_BOOL:
            return "bool";
        case BH_OPT_SIZE:
            return "size";
        case BH_OPT_DURATION:
            return "duration";
        case BH_OPT_ENUM:
            return "enum";
        case BH_OPT_LIST:
            return "list";
        case BH_OPT_TABLE:
            return "table";
        default:
            return "unknown";
    }
}

const bh_option_limits* limit_of(const bh_option_spec& o, std::span<const bh_option_limits> limits) {
    for (const bh_option_limits& l : limits)
        if (l.option && std::string_view(l.option) == o.name) return &l;
    return nullptr;
}

// `limits`: min / max in the option's unit (bytes, milliseconds, characters, entries) and the text errors use.
nlohmann::json options_json(std::span<const bh_option_spec> options, std::span<const bh_option_limits> limits) {
    nlohmann::json out = nlohmann::json::array();
    for (const bh_option_spec& o : options) {
        nlohmann::json j = {{"name", o.name},
                            {"type", type_name(o.type)},
                            {"required", (o.flags & BH_OPT_REQUIRED) != 0},
                            {"secret", (o.flags & BH_OPT_SECRET) != 0},
                            {"argv", (o.flags & BH_OPT_ARGV) != 0},
                            {"doc", option_text(o.doc)}};
        j["default"] = o.default_value ? nlohmann::json(o.default_value) : nlohmann::json(nullptr);
        if (o.type == BH_OPT_ENUM) {
            j["values"] = nlohmann::json::array();
            for (const char* const* v = o.enum_values; v && *v; ++v) j["values"].push_back(*v);
        }
        if (const bh_option_limits* l = limit_of(o, limits)) {
            nlohmann::json limit = {{"text", limit_text(o.type, *l)}};
            if (l->flags & BH_LIMIT_MIN) limit["min"] = l->min;
            if (l->flags & BH_LIMIT_MAX) limit["max"] = l->max;
            j["limits"] = std::move(limit);
        }
        out.push_back(std::move(j));
    }
    return out;
}

nlohmann::json plugin_json(const LoadedPlugin& p, bool with_options) {
    const bh_plugin_descriptor& d = *p.descriptor;
    nlohmann::json j = {{"name", d.name},
                        {"kind", kind_name(d.kind)},
                        {"version", option_text(d.version)},
                        {"description", option_text(d.description)},
                        {"path", p.path.string()},
                        {"abi", std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor)}};
    if (with_options) {
        j["options"] = options_json(p.options(), p.limits());
        j["restore_options"] = options_json(p.restore_options(), p.restore_limits());
        j["variables"] = nlohmann::json::array();
        for (std::string_view v : p.variables()) j["variables"].push_back(std::string(v));
    }
    return j;
}

void print_json(const nlohmann::json& value) {
    std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void print_options_table(std::span<const bh_option_spec> options, std::span<const bh_option_limits> limits) {
    for (const bh_option_spec& o : options) {
        std::string attrs = type_name(o.type);
        if (o.type == BH_OPT_ENUM) {
            attrs += " (";
            for (const char* const* v = o.enum_values; v && *v; ++v)
                attrs += std::string(v == o.enum_values ? "" : "|") + *v;
            attrs += ")";
        }
        if (o.flags & BH_OPT_REQUIRED) attrs += ", required";
        if (o.default_value) attrs += ", default " + std::string(o.default_value);
        if (o.flags & BH_OPT_SECRET) attrs += ", secret";
        if (o.flags & BH_OPT_ARGV) attrs += ", argv (no ${secret:...})";
        if (const bh_option_limits* l = limit_of(o, limits)) attrs += ", " + limit_text(o.type, *l);
        std::printf("  %-20s %s\n  %-20s %s\n", o.name, attrs.c_str(), "", option_text(o.doc).c_str());
    }
}

void load_default_plugins(PluginRegistry& registry) {
    for (const auto& dir : plugin_search_path({}, std::filesystem::current_path())) registry.load_directory(dir);
}

int list_plugins(const PluginsOptions& options) {
    PluginRegistry registry;
    load_default_plugins(registry);
    if (options.json) {
        nlohmann::json all = nlohmann::json::array();
        for (const LoadedPlugin* p : registry.plugins()) all.push_back(plugin_json(*p, true));
        print_json(all);
        return 0;
    }
    for (const LoadedPlugin* p : registry.plugins()) {
        const bh_plugin_descriptor& d = *p->descriptor;
        std::printf("%-20s %-10s %-8s %s\n", d.name, kind_name(d.kind).c_str(), option_text(d.version).c_str(),
                    option_text(d.description).c_str());
    }
    return 0;
}

int describe_plugin(const PluginsOptions& options) {
    PluginRegistry registry;
    load_default_plugins(registry);
    const LoadedPlugin* p = registry.find(options.name);
    if (!p) throw UsageError("plugins describe: no plugin named '" + options.name + "' (backhaul plugins lists them)");
    if (options.describe_json || options.json) {
        print_json(plugin_json(*p, true));
        return 0;
    }
    const bh_plugin_descriptor& d = *p->descriptor;
    std::printf("%s %s (%s)\n%s\nfile: %s\n\noptions:\n", d.name, option_text(d.version).c_str(),
                kind_name(d.kind).c_str(), option_text(d.description).c_str(), p->path.c_str());
    print_options_table(p->options(), p->limits());
    if (!p->restore_options().empty()) {
        std::printf("\nrestore options (backhaul restore ... --name value):\n");
        print_options_table(p->restore_options(), p->restore_limits());
    }
    if (!p->variables().empty()) {
        std::printf("\nvariables:");
        for (std::string_view v : p->variables()) std::printf(" {%.*s}", static_cast<int>(v.size()), v.data());
        std::printf("\n");
    }
    return 0;
}

}  // namespace

void add_plugins_command(CommandLine& cli) {
    auto options = std::make_shared<PluginsOptions>();
    CLI::App& command =
        cli.add_command("plugins", "list the plugins found (the installed ones, then those of BACKHAUL_PLUGIN_PATH)",
                        [options](const Invocation&) { return list_plugins(*options); });
    command.add_flag("--json", options->json, "one JSON array, with every plugin's options");
    CLI::App& describe =
        cli.add_subcommand(command, "describe", "show a plugin's options, restore options and key variables",
                           [options](const Invocation&) { return describe_plugin(*options); });
    describe.add_option("NAME", options->name, "the plugin, e.g. source-postgres")->required();
    describe.add_flag("--json", options->describe_json, "one JSON object");
}

}  // namespace backhaul
