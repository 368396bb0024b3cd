#include "cli/command_line.hpp"

#include <algorithm>
#include <cstdio>

#include "cli/version.hpp"
#include "errors.hpp"

namespace backhaul {
namespace {

constexpr const char* kDescription =
    "Streams backups from a source through transforms (compress, encrypt) into a sink, as a pipeline file describes.";

constexpr const char* kExitCodes =
    "Exit codes: 0 success, 1 backup/restore/verify/prune or a check failed, 2 usage or invalid pipeline,\n"
    "3 plugin load error, 4 another run holds this pipeline's lock.";

constexpr const char* kHelpHint = "`backhaul help COMMAND` or `backhaul COMMAND --help` shows a command's options.";

constexpr const char* kCommandFooter =
    "Global options (backhaul --help): --log-format text|json, --log-level debug|info|warn|error, -q/--quiet.";

bh_log_level level_named(const std::string& name) {
    if (name == "debug") return BH_LOG_DEBUG;
    if (name == "warn") return BH_LOG_WARN;
    if (name == "error") return BH_LOG_ERROR;
    return BH_LOG_INFO;
}

// "backhaul plugins describe" for the deepest command the parse selected.
std::string command_path(const CLI::App& app) {
    std::string path = app.get_name();
    for (const CLI::App* command = &app; !command->get_subcommands().empty();) {
        command = command->get_subcommands().front();
        path += " " + command->get_name();
    }
    return path;
}

const CLI::App* selected_command(const CLI::App& app) {
    const CLI::App* command = &app;
    while (!command->get_subcommands().empty()) command = command->get_subcommands().front();
    return command;
}

void print_usage_error(const std::string& message) { Log::print(BH_LOG_ERROR, "backhaul: " + message); }

}  // namespace

const char* exit_codes_text() { return kExitCodes; }

void print_config_error(const ConfigError& error) {
    for (const ConfigProblem& problem : error.problems()) {
        const LogField fields[] = {{"file", problem.where.file},
                                   {"line", uint64_t{problem.where.line}},
                                   {"column", uint64_t{problem.where.column}}};
        Log::print(BH_LOG_ERROR, problem.line(), fields);
    }
}

CLI::Option* add_pipeline_argument(CLI::App& command, std::string& file) {
    return command.add_option("PIPELINE", file, "the pipeline file (TOML)")->required()->type_name("FILE");
}

CommandLine::CommandLine() : app_(kDescription, "backhaul") {
    app_.footer(std::string(kExitCodes) + "\n" + kHelpHint);
    app_.require_subcommand(0, 1);
    // Unknown words are collected, not refused by CLI11, so that each error is one line in our wording, and so that
    // restore can take its source plugin's options (accept_extra_arguments).
    app_.allow_extras();
    app_.get_formatter()->column_width(36);
    app_.get_formatter()->label("Subcommands", "Commands");
    app_.get_formatter()->label("SUBCOMMAND", "COMMAND");
    app_.add_flag("--version", version_, "print the version, the build's commit, the plugin ABI and the plugins found");
    // Applied as soon as each is parsed, so that a usage error later on the line already comes out as JSON.
    add_choice(app_, "--log-format", log_format_word_, {"text", "json"}, "format of log lines on stderr (default text)")
        ->each([this](const std::string& format) {
            global_.log_format = format == "json" ? LogFormat::json : LogFormat::text;
            apply_log_settings();
        })
        ->trigger_on_parse();
    add_choice(app_, "--log-level", log_level_word_, {"debug", "info", "warn", "error"},
               "least severe level logged (default info)")
        ->each([this](const std::string& level) {
            global_.log_level = level_named(level);
            apply_log_settings();
        })
        ->trigger_on_parse();
    app_.add_flag_callback(
            "-q,--quiet",
            [this] {
                global_.quiet = true;
                apply_log_settings();
            },
            "only warnings and errors, no progress line: nothing at all on success (for cron)")
        ->trigger_on_parse();
}

void CommandLine::apply_log_settings() const {
    Log::configure(global_.log_format,
                   global_.quiet ? std::max<bh_log_level>(global_.log_level, BH_LOG_WARN) : global_.log_level);
}

CLI::App& CommandLine::add_command(const std::string& name, const std::string& description, CommandHandler handler) {
    return add_subcommand(app_, name, description, std::move(handler));
}

CLI::App& CommandLine::add_subcommand(CLI::App& parent, const std::string& name, const std::string& description,
                                      CommandHandler handler) {
    CLI::App* command = parent.add_subcommand(name, description);
    // Global options may follow the command (`backhaul run p.toml --log-format json`); unknown words go up to the
    // top, where dispatch reports them.
    command->fallthrough();
    command->require_subcommand(0, 1);
    command->footer(kCommandFooter);
    handlers_[command] = std::move(handler);
    return *command;
}

void CommandLine::add_note(CLI::App& command, const std::string& text) {
    notes_[&command] = text;
    command.footer(text + "\n" + kCommandFooter);
}

void CommandLine::accept_extra_arguments(CLI::App& command) { accepts_extras_[&command] = true; }

CLI::Option* CommandLine::add_choice(CLI::App& app, const std::string& name, std::string& value,
                                     const std::vector<std::string>& choices, const std::string& description) {
    std::string names;
    for (const std::string& choice : choices) names += (names.empty() ? "" : "|") + choice;
    // The help shows "text|json", not CLI11's "TEXT:{text,json}".
    CLI::Option* option =
        app.add_option(name, value, description)->check(CLI::IsMember(choices).description(""))->type_name(names);
    choices_[option] = choices;
    return option;
}

int CommandLine::run(int argc, char** argv) {
    try {
        return dispatch(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app_.help().c_str(), stdout);
        return static_cast<int>(ExitCode::success);
    } catch (const CLI::ParseError& e) {
        std::string where = command_path(app_);
        print_usage_error((where == app_.get_name() ? "" : where.substr(app_.get_name().size() + 1) + ": ") + e.what() +
                          " (see '" + where + " --help')");
        return static_cast<int>(ExitCode::usage);
    } catch (const ConfigError& e) {
        print_config_error(e);
        return static_cast<int>(ExitCode::usage);
    } catch (const UsageError& e) {
        print_usage_error(e.what());
        return static_cast<int>(ExitCode::usage);
    } catch (const PluginLoadError& e) {
        print_usage_error(e.what());
        return static_cast<int>(ExitCode::plugin_load);
    } catch (const std::exception& e) {
        Log::error(e.what());
        return static_cast<int>(ExitCode::run_failed);
    }
}

int CommandLine::dispatch(int argc, char** argv) {
    app_.parse(argc, argv);
    if (version_) {
        print_version();
        return static_cast<int>(ExitCode::success);
    }
    const CLI::App* command = selected_command(app_);
    std::vector<std::string> extras = app_.remaining(true);
    // CLI11 2.1 keeps the "--" that ended a command's options among the unparsed words; it is no argument.
    if (auto marker = std::find(extras.begin(), extras.end(), "--"); marker != extras.end()) extras.erase(marker);
    if (command == &app_) {
        if (!extras.empty()) throw UsageError("unknown command '" + extras.front() + "' (see 'backhaul --help')");
        if (global_.log_format == LogFormat::json) throw UsageError("no command given (see 'backhaul --help')");
        std::fputs(app_.help().c_str(), stderr);
        return static_cast<int>(ExitCode::usage);
    }
    auto handler = handlers_.find(command);
    std::string path = command_path(app_);
    std::string name = path.substr(app_.get_name().size() + 1);
    if (handler == handlers_.end() || !handler->second)  // a command that only groups others (none today)
        throw UsageError(name + ": needs a subcommand (see '" + path + " --help')");
    if (!extras.empty() && !accepts_extras_.count(command)) {
        const std::string& word = extras.front();
        bool option = word.size() > 1 && word[0] == '-';
        throw UsageError(name + ": " + (option ? "unknown option '" : "unexpected argument '") +
                         (option ? word.substr(0, word.find('=')) : word) + "' (see '" + path + " --help')");
    }
    return handler->second(Invocation{global_, std::move(extras)});
}

}  // namespace backhaul
