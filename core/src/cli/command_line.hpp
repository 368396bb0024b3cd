// The `backhaul` command line, defined once with CLI11: the global options, one subcommand per command (each in its
// own cli/NAME_command.cpp, listed in cli/commands.hpp), and what is generated from that definition (help, the bash
// completion, the man page).
#pragma once

#include <backhaul/plugin_abi.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {

// The options every command takes, before or after the command's name.
struct GlobalOptions {
    LogFormat log_format = LogFormat::text;
    bh_log_level log_level = BH_LOG_INFO;
    // --quiet: --log-level warn, no progress line, and commands print nothing on success (for cron, which mails any
    // output).
    bool quiet = false;
};

// What a command's handler gets besides its own options, which it bound to its own variables.
struct Invocation {
    const GlobalOptions& global;
    // The arguments the command did not declare, in order, as given ("--target-database=x" stays one word). Always
    // empty unless the command accepts them (CommandLine::accept_extra_arguments).
    std::vector<std::string> extra_arguments;
};

using CommandHandler = std::function<int(const Invocation&)>;

class CommandLine {
  public:
    CommandLine();
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    // `backhaul NAME`: the command declares its options and arguments on the returned app; `handler` runs it and
    // returns the exit code. It may throw the core's errors (errors.hpp), which map to the documented exit codes.
    CLI::App& add_command(const std::string& name, const std::string& description, CommandHandler handler);
    // `backhaul PARENT NAME` (plugins describe).
    CLI::App& add_subcommand(CLI::App& parent, const std::string& name, const std::string& description,
                             CommandHandler handler);
    // Arguments `command` does not declare reach its handler instead of being a usage error: restore's source restore
    // options, whose set depends on the pipeline's source plugin and which its option table checks.
    void accept_extra_arguments(CLI::App& command);

    // A paragraph about `command` for its help and the man page.
    void add_note(CLI::App& command, const std::string& text);

    // An option (or a positional argument, `name` without dashes) that takes one of `choices`; help, completion and
    // the man page list them.
    CLI::Option* add_choice(CLI::App& app, const std::string& name, std::string& value,
                            const std::vector<std::string>& choices, const std::string& description);

    // Parses argv, runs the command and returns the exit code; prints every error as one line (a log event in
    // --log-format json).
    int run(int argc, char** argv);

    const CLI::App& app() const { return app_; }
    const std::map<const CLI::App*, std::string>& notes() const { return notes_; }
    // The values of each option added with add_choice.
    const std::map<const CLI::Option*, std::vector<std::string>>& choices() const { return choices_; }

  private:
    int dispatch(int argc, char** argv);
    void apply_log_settings() const;

    CLI::App app_;
    GlobalOptions global_;
    bool version_ = false;
    std::string log_format_word_, log_level_word_;
    std::map<const CLI::App*, CommandHandler> handlers_;
    std::map<const CLI::App*, bool> accepts_extras_;
    std::map<const CLI::Option*, std::vector<std::string>> choices_;
    std::map<const CLI::App*, std::string> notes_;
};

// Prints each problem of an invalid pipeline file as its own "FILE:LINE:COL: message" line; in --log-format json each
// is an event with the fields file, line and column too.
void print_config_error(const ConfigError& error);

// The PIPELINE argument of a command (required, a file).
CLI::Option* add_pipeline_argument(CLI::App& command, std::string& file);

// "Exit codes: 0 success, 1 ...": the documented exit codes (errors.hpp), for --help and the man page.
const char* exit_codes_text();

// `backhaul __completion bash` and `backhaul __man`, generated from the same definition as the help (command_docs.cpp).
std::string bash_completion(const CommandLine& cli);
std::string man_page(const CommandLine& cli);

}  // namespace backhaul
