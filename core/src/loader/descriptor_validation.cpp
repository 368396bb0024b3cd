#include "loader/descriptor_validation.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "loader/plugin_registry.hpp"

namespace backhaul {
namespace {

std::string abi_version(uint32_t major, uint32_t minor) { return std::to_string(major) + "." + std::to_string(minor); }

// A plugin built for ABI 1.<minor> provides at least the fields that minor defines. 1.1 appended no field, 1.2 the
// limits and the validate and check entries, 1.4 memory_min; each minor that appends fields adds a case here.
std::size_t required_descriptor_size(uint32_t minor) {
    if (minor >= 4) return offsetof(bh_plugin_descriptor, memory_min) + sizeof(bh_plugin_descriptor::memory_min);
    if (minor >= 2) return offsetof(bh_plugin_descriptor, check) + sizeof(bh_plugin_descriptor::check);
    return offsetof(bh_plugin_descriptor, notifier) + sizeof(bh_plugin_descriptor::notifier);
}

// The option flags ABI 1.<minor> defines. A bit a plugin's own minor does not define cannot have been set on purpose,
// and reading it with a later meaning would be a guess.
uint32_t known_option_flags(uint32_t minor) {
    uint32_t flags = BH_OPT_REQUIRED | BH_OPT_SECRET;
    if (minor >= 1) flags |= BH_OPT_ARGV;
    return flags;
}

std::string hex(uint32_t value) {
    char text[8];
    const auto end = std::to_chars(text, text + sizeof text, value, 16).ptr;
    return "0x" + std::string(text, end);
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// ^[a-z]+-[a-z0-9][a-z0-9-]*$
bool is_plugin_name(std::string_view name) {
    std::size_t i = 0;
    while (i < name.size() && name[i] >= 'a' && name[i] <= 'z') ++i;
    if (i == 0 || i + 1 >= name.size() || name[i] != '-' || !is_lower_alnum(name[i + 1])) return false;
    for (i += 2; i < name.size(); ++i) {
        if (!is_lower_alnum(name[i]) && name[i] != '-') return false;
    }
    return true;
}

// ^[a-z][a-z0-9_]*$: option names are TOML keys and, for restore options, --flags.
bool is_snake_case(std::string_view name) {
    if (name.empty() || name[0] < 'a' || name[0] > 'z') return false;
    for (char c : name) {
        if (!is_lower_alnum(c) && c != '_') return false;
    }
    return true;
}

bool is_known_kind(bh_kind kind) { return kind >= BH_KIND_SECRET && kind <= BH_KIND_NOTIFIER; }
bool is_known_option_type(bh_option_type type) { return type >= BH_OPT_STRING && type <= BH_OPT_TABLE; }

struct FunctionSlot {
    const char* name;
    bool present;
};

// `slots_of` is only called once the table is known to be large enough to hold every slot it reads.
// The size of a kind's function table in ABI 1.0: tables that grew later (bh_source_api in 1.3) are at least this.
template <typename Table>
constexpr std::size_t abi_1_0_table_size() {
    if constexpr (std::is_same_v<Table, bh_source_api>)
        return offsetof(bh_source_api, restore_abort) + sizeof(bh_source_api::restore_abort);
    return sizeof(Table);
}

template <typename Table, typename SlotsOf>
void check_function_table(const std::filesystem::path& file, const bh_plugin_descriptor& descriptor, const Table* table,
                          SlotsOf slots_of) {
    const std::string kind = kind_name(descriptor.kind);
    const std::string plugin = std::string("'") + descriptor.name + "'";
    if (table == nullptr) {
        throw_plugin_load_error(file, kind + " plugin " + plugin + " has no " + kind + " function table");
    }
    // Every function of ABI 1.0 is required; functions appended by later minors will be optional (NULL when absent).
    if (table->struct_size < abi_1_0_table_size<Table>()) {
        throw_plugin_load_error(file, kind + " function table of " + plugin + " is " +
                                          std::to_string(table->struct_size) + " bytes, ABI " +
                                          abi_version(descriptor.abi_major, descriptor.abi_minor) +
                                          " requires at least " + std::to_string(abi_1_0_table_size<Table>()));
    }
    for (const FunctionSlot& slot : slots_of(*table)) {
        if (!slot.present) {
            throw_plugin_load_error(file,
                                    kind + " function table of " + plugin + " has no '" + slot.name + "' function");
        }
    }
}

// ABI 1.3's set entries come as a whole or not at all.
void check_set_entries(const std::filesystem::path& file, const bh_plugin_descriptor& d) {
    const bh_source_api& t = *d.source;
    if (t.struct_size < offsetof(bh_source_api, restore_open_stream) + sizeof(bh_source_api::restore_open_stream))
        return;
    const int present = int(t.produces_set != nullptr) + int(t.list_streams != nullptr) +
                        int(t.open_stream != nullptr) + int(t.restore_open_stream != nullptr);
    if (present != 0 && present != 4)
        throw_plugin_load_error(file, std::string("source plugin '") + d.name +
                                          "' has some but not all of produces_set, list_streams, open_stream and "
                                          "restore_open_stream (ABI 1.3 sets need all four)");
}

void check_kind_table(const std::filesystem::path& file, const bh_plugin_descriptor& d) {
    const std::array<std::pair<bh_kind, const void*>, 5> tables = {{
        {BH_KIND_SECRET, d.secret},
        {BH_KIND_SOURCE, d.source},
        {BH_KIND_TRANSFORM, d.transform},
        {BH_KIND_SINK, d.sink},
        {BH_KIND_NOTIFIER, d.notifier},
    }};
    for (const auto& [kind, table] : tables) {
        if (kind != d.kind && table != nullptr) {
            throw_plugin_load_error(file, kind_name(d.kind) + " plugin '" + d.name + "' also sets the " +
                                              kind_name(kind) + " function table");
        }
    }

    switch (d.kind) {
        case BH_KIND_SECRET:
            check_function_table(file, d, d.secret, [](const bh_secret_api& t) {
                return std::vector<FunctionSlot>{{"fetch", t.fetch != nullptr}};
            });
            break;
        case BH_KIND_SOURCE:
            check_function_table(file, d, d.source, [](const bh_source_api& t) {
                return std::vector<FunctionSlot>{{"open", t.open != nullptr},
                                                 {"read", t.read != nullptr},
                                                 {"close", t.close != nullptr},
                                                 {"restore_open", t.restore_open != nullptr},
                                                 {"restore_write", t.restore_write != nullptr},
                                                 {"restore_finish", t.restore_finish != nullptr},
                                                 {"restore_abort", t.restore_abort != nullptr}};
            });
            check_set_entries(file, d);
            break;
        case BH_KIND_TRANSFORM:
            check_function_table(file, d, d.transform, [](const bh_transform_api& t) {
                return std::vector<FunctionSlot>{{"open", t.open != nullptr},
                                                 {"write", t.write != nullptr},
                                                 {"finish", t.finish != nullptr},
                                                 {"close", t.close != nullptr}};
            });
            break;
        case BH_KIND_SINK:
            check_function_table(file, d, d.sink, [](const bh_sink_api& t) {
                return std::vector<FunctionSlot>{{"begin", t.begin != nullptr},
                                                 {"write", t.write != nullptr},
                                                 {"commit", t.commit != nullptr},
                                                 {"abort", t.abort != nullptr},
                                                 {"open_read", t.open_read != nullptr},
                                                 {"read", t.read != nullptr},
                                                 {"close_read", t.close_read != nullptr},
                                                 {"list", t.list != nullptr},
                                                 {"stat", t.stat != nullptr},
                                                 {"remove", t.remove != nullptr}};
            });
            break;
        case BH_KIND_NOTIFIER:
            check_function_table(file, d, d.notifier, [](const bh_notifier_api& t) {
                return std::vector<FunctionSlot>{{"notify", t.notify != nullptr}};
            });
            break;
    }
}

// `what` is "option" or "restore option".
void check_option_table(const std::filesystem::path& file, const bh_plugin_descriptor& d, const std::string& what,
                        const bh_option_spec* specs, uint32_t count) {
    const std::string plugin = std::string("'") + d.name + "'";
    if (count > 0 && specs == nullptr) {
        throw_plugin_load_error(file, "plugin " + plugin + " declares " + std::to_string(count) + " " + what +
                                          "s but its " + what + " table is NULL");
    }
    std::set<std::string_view> seen;
    for (uint32_t i = 0; i < count; ++i) {
        const bh_option_spec& spec = specs[i];
        if (spec.name == nullptr) {
            throw_plugin_load_error(file, what + " " + std::to_string(i + 1) + " of " + plugin + " has no name");
        }
        const std::string option = what + " '" + spec.name + "' of " + plugin;
        if (!is_snake_case(spec.name)) throw_plugin_load_error(file, option + " is not snake_case");
        if (!seen.insert(spec.name).second) throw_plugin_load_error(file, option + " is declared twice");
        if (!is_known_option_type(spec.type)) {
            throw_plugin_load_error(file, option + " has unknown type " + std::to_string(spec.type));
        }
        if (spec.type == BH_OPT_ENUM && (spec.enum_values == nullptr || spec.enum_values[0] == nullptr)) {
            throw_plugin_load_error(file, "enum " + option + " has no values");
        }
        const uint32_t unknown_flags = spec.flags & ~known_option_flags(d.abi_minor);
        if (unknown_flags != 0) {
            throw_plugin_load_error(file, option + " has flags " + hex(unknown_flags) + " that ABI " +
                                              abi_version(d.abi_major, d.abi_minor) + " does not define");
        }
        if ((spec.flags & BH_OPT_SECRET) && (spec.flags & BH_OPT_ARGV)) {
            throw_plugin_load_error(file, option + " is both BH_OPT_SECRET and BH_OPT_ARGV: a secret must not be " +
                                              "passed on a command line");
        }
    }
}

// `what` is "option" or "restore option"; `limits` apply to `specs`.
void check_limits_table(const std::filesystem::path& file, const bh_plugin_descriptor& d, const std::string& what,
                        const bh_option_spec* specs, uint32_t count, const bh_option_limits* limits,
                        uint32_t limit_count) {
    const std::string plugin = std::string("'") + d.name + "'";
    if (limit_count > 0 && limits == nullptr) {
        throw_plugin_load_error(file, "plugin " + plugin + " declares " + std::to_string(limit_count) + " " + what +
                                          " limits but its limits table is NULL");
    }
    std::set<std::string_view> seen;
    for (uint32_t i = 0; i < limit_count; ++i) {
        const bh_option_limits& limit = limits[i];
        if (limit.option == nullptr) {
            throw_plugin_load_error(file,
                                    what + " limit " + std::to_string(i + 1) + " of " + plugin + " names no option");
        }
        const bh_option_spec* spec = nullptr;
        for (uint32_t j = 0; j < count; ++j)
            if (std::string_view(specs[j].name) == limit.option) spec = &specs[j];
        const std::string option = what + " '" + limit.option + "' of " + plugin;
        if (!spec) throw_plugin_load_error(file, "limits name " + option + ", which is not declared");
        if (!seen.insert(limit.option).second)
            throw_plugin_load_error(file, "limits of " + option + " are given twice");
        if (spec->type == BH_OPT_BOOL) throw_plugin_load_error(file, "bool " + option + " cannot have limits");
        if (limit.flags & ~uint32_t{BH_LIMIT_MIN | BH_LIMIT_MAX}) {
            throw_plugin_load_error(file, "limits of " + option + " have unknown flags " + hex(limit.flags));
        }
        if ((limit.flags & BH_LIMIT_MIN) && (limit.flags & BH_LIMIT_MAX) && limit.min > limit.max) {
            throw_plugin_load_error(file, "limits of " + option + " have min " + std::to_string(limit.min) +
                                              " above max " + std::to_string(limit.max));
        }
    }
}

}  // namespace

void throw_plugin_load_error(const std::filesystem::path& file, const std::string& reason) {
    throw PluginLoadError(file.string() + ": " + reason);
}

void validate_descriptor(const std::filesystem::path& file, const bh_plugin_descriptor& d) {
    // Only abi_major, abi_minor and struct_size are read before the size is known to be sufficient.
    if (d.abi_major != BH_ABI_MAJOR) {
        throw_plugin_load_error(file, "plugin ABI " + abi_version(d.abi_major, d.abi_minor) +
                                          " is incompatible with this backhaul (ABI " +
                                          abi_version(BH_ABI_MAJOR, BH_ABI_MINOR) + ")");
    }
    if (d.abi_minor > BH_ABI_MINOR) {
        throw_plugin_load_error(file, "plugin needs ABI " + abi_version(d.abi_major, d.abi_minor) +
                                          ", this backhaul provides ABI " + abi_version(BH_ABI_MAJOR, BH_ABI_MINOR) +
                                          "; upgrade backhaul");
    }
    const std::size_t required_size = required_descriptor_size(d.abi_minor);
    if (d.struct_size < required_size) {
        throw_plugin_load_error(file, "descriptor is " + std::to_string(d.struct_size) + " bytes, ABI " +
                                          abi_version(d.abi_major, d.abi_minor) + " requires at least " +
                                          std::to_string(required_size));
    }

    if (d.name == nullptr) throw_plugin_load_error(file, "descriptor has no plugin name");
    const std::string plugin = std::string("'") + d.name + "'";
    if (!is_plugin_name(d.name)) {
        throw_plugin_load_error(
            file, "plugin name " + plugin + " is not <kind>-<name> in lower-case letters, digits and dashes");
    }
    if (!is_known_kind(d.kind)) {
        throw_plugin_load_error(file, "plugin " + plugin + " has unknown kind " + std::to_string(d.kind));
    }
    if (d.version == nullptr) throw_plugin_load_error(file, "plugin " + plugin + " has no version");
    if (d.description == nullptr) throw_plugin_load_error(file, "plugin " + plugin + " has no description");
    if (d.create == nullptr) throw_plugin_load_error(file, "plugin " + plugin + " has no create function");
    if (d.destroy == nullptr) throw_plugin_load_error(file, "plugin " + plugin + " has no destroy function");

    check_kind_table(file, d);

    check_option_table(file, d, "option", d.options, d.option_count);
    if (d.kind != BH_KIND_SOURCE && d.restore_option_count > 0) {
        throw_plugin_load_error(
            file, kind_name(d.kind) + " plugin " + plugin + " declares restore options, which only sources have");
    }
    check_option_table(file, d, "restore option", d.restore_options, d.restore_option_count);
    if (d.abi_minor >= 2) {
        check_limits_table(file, d, "option", d.options, d.option_count, d.limits, d.limit_count);
        check_limits_table(file, d, "restore option", d.restore_options, d.restore_option_count, d.restore_limits,
                           d.restore_limit_count);
    }
}

}  // namespace backhaul
