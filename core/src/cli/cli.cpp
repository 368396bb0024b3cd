#include "cli/cli.hpp"

#include <cstdio>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "engine/signal_watch.hpp"
#include "errors.hpp"

namespace backhaul {
namespace {

// `backhaul help [COMMAND [SUBCOMMAND]]`: the same text as `backhaul COMMAND --help`.
void add_help_command(CommandLine& cli) {
    auto words = std::make_shared<std::vector<std::string>>();
    CLI::App& help =
        cli.add_command("help", "show the help of a command (or of backhaul)", [&cli, words](const Invocation&) {
            const CLI::App* command = &cli.app();
            std::string path = command->get_name();
            for (const std::string& word : *words) {
                const CLI::App* next = nullptr;
                for (const CLI::App* sub : command->get_subcommands([](const CLI::App*) { return true; }))
                    if (sub->get_name() == word && !sub->get_group().empty()) next = sub;
                if (!next) throw UsageError("help: no command '" + word + "' (see 'backhaul --help')");
                path += " " + word;
                command = next;
            }
            // Not command->help(), which shows the selected subcommand's help: here that is `help` itself.
            std::fputs(command->get_formatter()->make_help(command, path, CLI::AppFormatMode::Normal).c_str(), stdout);
            return static_cast<int>(ExitCode::success);
        });
    help.add_option("COMMAND", *words, "a command, e.g. run, or plugins describe");
}

// Used by the build to generate share/bash-completion/completions/backhaul and share/man/man1/backhaul.1 from the
// definition the binary parses with; not listed in the help.
void add_generator_commands(CommandLine& cli) {
    auto shell = std::make_shared<std::string>();
    CLI::App& completion = cli.add_command("__completion", "", [&cli, shell](const Invocation&) {
        std::fputs(bash_completion(cli).c_str(), stdout);
        return static_cast<int>(ExitCode::success);
    });
    completion.add_option("SHELL", *shell)->required()->check(CLI::IsMember({"bash"}));
    completion.group("");
    CLI::App& man = cli.add_command("__man", "", [&cli](const Invocation&) {
        std::fputs(man_page(cli).c_str(), stdout);
        return static_cast<int>(ExitCode::success);
    });
    man.group("");
}

}  // namespace

int run_cli(int argc, char** argv) {
    // Before any thread exists, so every thread inherits the blocked signals.
    SignalWatch::install();
    CommandLine cli;
#define BACKHAUL_ADD_COMMAND(name) add_##name##_command(cli);
    BACKHAUL_COMMANDS(BACKHAUL_ADD_COMMAND)
#undef BACKHAUL_ADD_COMMAND
    add_help_command(cli);
    add_generator_commands(cli);
    return cli.run(argc, argv);
}

}  // namespace backhaul
