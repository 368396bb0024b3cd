#include "cli/cli.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/pipeline_plan.hpp"
#include "cli/arguments.hpp"
#include "engine/pipeline_run.hpp"
#include "engine/secret_store.hpp"
#include "engine/signal_watch.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

constexpr const char* kUsage = R"(Usage: backhaul [GLOBAL OPTIONS] COMMAND [ARGS]

Streams backups from a source through transforms (compress, encrypt) into a sink, as a pipeline file describes.

Commands:
  run PIPELINE [--metrics-file PATH] [--no-progress]
                                     run a backup; the object is committed only if every stage succeeded,
                                     then its manifest is written and [retention] applied
  list PIPELINE [--json]             backups under the key template, newest first, and whose they are
  verify PIPELINE [--key KEY|--latest]
                                     read a backup back, check size and SHA-256 against its manifest and
                                     decode it to the end (default: the latest complete backup)
  prune PIPELINE [--dry-run] [--delete-incomplete]
                                     apply [retention] now; print what is kept and deleted, and why
  validate PIPELINE                  check a pipeline file and its plugins' options (no network, no plugin I/O)
  restore PIPELINE --key KEY [--output FILE|-] [SOURCE RESTORE OPTIONS]
                                     read KEY from the sink, decode it and restore it through the source
                                     (or into FILE, or stdout with -)
  plugins [--json]                   list installed plugins
  plugins describe NAME [--json]     show a plugin's options
  keygen age [--output FILE]         create an age identity for encrypt-age (mode 0600); prints its recipient

Global options:
  --log-format text|json             format of log lines on stderr (default text)
  --log-level debug|info|warn|error  least severe level logged (default info)
  --version                          print the version
  -h, --help                         print this help (also after a command)

Exit codes: 0 success, 1 backup/restore/verify/prune failed, 2 usage or invalid pipeline,
3 plugin load error, 4 another run holds this pipeline's lock.
)";

Arguments parse_global(int argc, char** argv) {
    Arguments args;
    LogFormat format = LogFormat::text;
    bh_log_level level = BH_LOG_INFO;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const std::string& name) -> std::string {
            if (i + 1 >= argc) throw UsageError("option '" + name + "' needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            args.help = true;
        } else if (a == "--version") {
            args.version = true;
        } else if (a == "--log-format") {
            std::string v = value(a);
            if (v == "text")
                format = LogFormat::text;
            else if (v == "json")
                format = LogFormat::json;
            else
                throw UsageError("--log-format must be text or json, got '" + v + "'");
        } else if (a == "--log-level") {
            std::string v = value(a);
            if (v == "debug")
                level = BH_LOG_DEBUG;
            else if (v == "info")
                level = BH_LOG_INFO;
            else if (v == "warn")
                level = BH_LOG_WARN;
            else if (v == "error")
                level = BH_LOG_ERROR;
            else
                throw UsageError("--log-level must be debug, info, warn or error, got '" + v + "'");
        } else if (a == "--json") {
            args.json = true;
        } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
            args.rest.push_back(a);
            // A following word that is not an option is this option's value.
            bool valueless = std::find(kValuelessFlags.begin(), kValuelessFlags.end(), a) != kValuelessFlags.end();
            if (!valueless && i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0 &&
                a.find('=') == std::string::npos)
                args.rest.push_back(argv[++i]);
        } else {
            args.positional.push_back(a);
        }
    }
    Log::configure(format, level);
    return args;
}

std::string option_text(const char* text) { return text ? text : ""; }

const char* type_name(bh_option_type type) {
    switch (type) {
        case BH_OPT_STRING: return "string";
        case BH_OPT_INT: return "int";
        case BH_OPT_BOOL: return "bool";
        case BH_OPT_SIZE: return "size";
        case BH_OPT_DURATION: return "duration";
        case BH_OPT_ENUM: return "enum";
        case BH_OPT_LIST: return "list";
        case BH_OPT_TABLE: return "table";
        default: return "unknown";
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

void print_options_table(std::span<const bh_option_spec> options, std::span<const bh_option_limits> limits) {
    for (const bh_option_spec& o : options) {
        std::string attrs = type_name(o.type);
        if (o.type == BH_OPT_ENUM) {
            attrs += " (";
            for (const char* const* v = o.enum_values; v && *v; ++v) attrs += std::string(v == o.enum_values ? "" : "|") + *v;
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

int cmd_plugins(const Arguments& args) {
    if (!args.rest.empty()) throw UsageError("plugins: unknown option '" + args.rest.front() + "'");
    PluginRegistry registry;
    load_default_plugins(registry);
    if (args.positional.size() >= 2 && args.positional[1] == "describe") {
        if (args.positional.size() != 3) throw UsageError("usage: backhaul plugins describe NAME [--json]");
        const LoadedPlugin* p = registry.find(args.positional[2]);
        if (!p) throw UsageError("plugins describe: no plugin named '" + args.positional[2] + "'");
        if (args.json) {
            std::cout << plugin_json(*p, true).dump(2) << "\n";
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
    if (args.positional.size() != 1) throw UsageError("usage: backhaul plugins [--json] | plugins describe NAME");
    if (args.json) {
        nlohmann::json all = nlohmann::json::array();
        for (const LoadedPlugin* p : registry.plugins()) all.push_back(plugin_json(*p, true));
        std::cout << all.dump(2) << "\n";
        return 0;
    }
    for (const LoadedPlugin* p : registry.plugins()) {
        const bh_plugin_descriptor& d = *p->descriptor;
        std::printf("%-20s %-10s %-8s %s\n", d.name, kind_name(d.kind).c_str(), option_text(d.version).c_str(),
                    option_text(d.description).c_str());
    }
    return 0;
}

int cmd_validate(const Arguments& args) {
    std::string file = pipeline_argument(args, "backhaul validate PIPELINE");
    if (!args.rest.empty()) throw UsageError("validate: unknown option '" + args.rest.front() + "'");
    PluginRegistry registry;
    auto plan = plan_pipeline(file, registry);
    std::printf("%s: pipeline '%s' is valid (%zu secret(s), source %s, %zu transform(s), sink %s, %zu notifier(s), "
                "retention %s)\n",
                file.c_str(), plan->spec.name.c_str(), plan->secrets.size(), plan->spec.source.plugin.c_str(),
                plan->transforms.size(), plan->spec.sink.plugin.c_str(), plan->notifiers.size(),
                plan->retention ? "on" : "off");
    return 0;
}

int cmd_restore(const Arguments& args) {
    std::string file = pipeline_argument(args, "backhaul restore PIPELINE --key KEY [--output FILE|-] [OPTIONS]");
    RestoreRequest request;
    for (size_t i = 0; i < args.rest.size(); ++i) {
        std::string a = args.rest[i];
        std::optional<std::string> value;
        if (size_t eq = a.find('='); eq != std::string::npos) {
            value = a.substr(eq + 1);
            a.resize(eq);
        } else if (i + 1 < args.rest.size() && (args.rest[i + 1] == "-" || args.rest[i + 1].rfind("-", 0) != 0)) {
            value = args.rest[++i];
        }
        if (a == "--key") {
            if (!value) throw UsageError("restore: --key needs a value");
            request.key = *value;
        } else if (a == "--output" || a == "-o") {
            if (!value) throw UsageError("restore: --output needs a value");
            request.output = *value;
        } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
            std::string name = a.substr(2);
            for (char& c : name)
                if (c == '-') c = '_';
            request.target_options.emplace_back(name, value);
        } else {
            throw UsageError("restore: unknown option '" + a + "'");
        }
    }
    if (request.key.empty()) throw UsageError("restore: --key KEY is required");
    PluginRegistry registry;
    auto plan = plan_pipeline(file, registry);
    RunControl control;
    SignalWatch signals(control);
    try {
        SecretStore secrets;
        secrets.fetch_all(*plan, control);
        RestoreResult result = run_restore(*plan, control, secrets, request);
        Log::info("restore complete: key=" + request.key + " stored=" + human_bytes(result.stored_bytes) +
                  " restored=" + human_bytes(result.restored_bytes));
        return 0;
    } catch (const UsageError&) {
        throw;
    } catch (const ConfigError&) {
        throw;  // a plugin refused its options once secrets were fetched: exit 2, like validate
    } catch (const std::exception& e) {
        Log::error(std::string("restore failed: ") + e.what());
        return static_cast<int>(ExitCode::run_failed);
    }
}

}  // namespace

std::map<std::string, std::string> parse_flags(const std::vector<std::string>& rest, std::initializer_list<FlagSpec> flags,
                                               const std::string& command) {
    std::map<std::string, std::string> values;
    for (size_t i = 0; i < rest.size(); ++i) {
        std::string name = rest[i];
        std::optional<std::string> value;
        if (size_t eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        const FlagSpec* spec = nullptr;
        for (const FlagSpec& f : flags)
            if (name == f.name) spec = &f;
        if (!spec) throw UsageError(command + ": unknown option '" + name + "'");
        if (spec->takes_value && !value) {
            if (i + 1 >= rest.size() || rest[i + 1].rfind("--", 0) == 0)
                throw UsageError(command + ": " + name + " needs a value");
            value = rest[++i];
        }
        if (!spec->takes_value && value) throw UsageError(command + ": " + name + " takes no value");
        values[name] = value.value_or("");
    }
    return values;
}

std::string pipeline_argument(const Arguments& args, const char* usage) {
    if (args.positional.size() != 2) throw UsageError(std::string("usage: ") + usage);
    return args.positional[1];
}

int run_cli(int argc, char** argv) {
    // Before any thread exists, so every thread inherits the blocked signals.
    SignalWatch::install();
    try {
        Arguments args = parse_global(argc, argv);
        if (args.version) {
            std::printf("backhaul %s (plugin ABI %d.%d)\n", BACKHAUL_VERSION, BH_ABI_MAJOR, BH_ABI_MINOR);
            return 0;
        }
        if (args.help || args.positional.empty()) {
            std::fputs(kUsage, args.help ? stdout : stderr);
            return args.help ? 0 : static_cast<int>(ExitCode::usage);
        }
        const std::string& command = args.positional[0];
        if (command == "run") return cmd_run(args);
        if (command == "validate") return cmd_validate(args);
        if (command == "restore") return cmd_restore(args);
        if (command == "list") return cmd_list(args);
        if (command == "verify") return cmd_verify(args);
        if (command == "prune") return cmd_prune(args);
        if (command == "plugins") return cmd_plugins(args);
        if (command == "keygen") return cmd_keygen(args);
        if (command == "help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        throw UsageError("unknown command '" + command + "' (see backhaul --help)");
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s\n", Log::scrub(e.what()).c_str());
        return static_cast<int>(ExitCode::usage);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "backhaul: %s\n", Log::scrub(e.what()).c_str());
        return static_cast<int>(ExitCode::usage);
    } catch (const PluginLoadError& e) {
        std::fprintf(stderr, "backhaul: %s\n", e.what());
        return static_cast<int>(ExitCode::plugin_load);
    } catch (const std::exception& e) {
        Log::error(e.what());
        return static_cast<int>(ExitCode::run_failed);
    }
}

}  // namespace backhaul
