// `backhaul restore PIPELINE --key KEY|--latest [--output FILE|-|DIR] [--database NAME ...] [--globals]
// [SOURCE RESTORE OPTIONS]`: read the backup from the sink, decode it and restore it through the source (or into FILE,
// or stdout with -; a set's streams into DIR).
#include <backhaul/common/human_bytes.hpp>
#include <optional>

#include "cli/command_line.hpp"
#include "engine/backup_catalog.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/pipeline_run.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/secret_store.hpp"
#include "engine/signal_watch.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

struct RestoreOptions {
    std::string file;
    std::string key;
    bool latest = false;
    std::optional<std::string> output;
    std::vector<std::string> databases;
    bool globals = false;
    std::optional<std::string> sink;
};

// The source plugin's restore options as given ("--target-database X", "--target-database=X", "--create"), for
// bind_cli_options, which checks them against the plugin's restore_options table. A word after an option is its
// value unless it is an option itself ("-" alone is a value: standard input or output).
std::vector<std::pair<std::string, std::optional<std::string>>> restore_flags(const std::vector<std::string>& words) {
    std::vector<std::pair<std::string, std::optional<std::string>>> flags;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (word.rfind("--", 0) != 0 || word.size() == 2)
            throw UsageError("restore: unexpected argument '" + word + "' (see 'backhaul restore --help')");
        if (size_t eq = word.find('='); eq != std::string::npos) {
            flags.emplace_back(word.substr(0, eq), word.substr(eq + 1));
        } else if (i + 1 < words.size() && (words[i + 1] == "-" || words[i + 1].rfind("-", 0) != 0)) {
            flags.emplace_back(word, words[i + 1]);
            ++i;
        } else {
            flags.emplace_back(word, std::nullopt);
        }
    }
    return flags;
}

int restore(const RestoreOptions& options, const Invocation& call) {
    if (options.latest == !options.key.empty()) throw UsageError("restore: give exactly one of --key KEY and --latest");
    RestoreRequest request;
    request.key = options.key;
    request.output = options.output;
    request.target_options = restore_flags(call.extra_arguments);
    request.databases = options.databases;
    request.globals = options.globals;
    PluginRegistry registry;
    auto plan = plan_pipeline(options.file, registry);
    if (!plan->source_set && (!request.databases.empty() || request.globals))
        throw UsageError("restore: --database and --globals select streams of a set, and pipeline '" + plan->spec.name +
                         "' backs up one stream (docs/sets.md)");
    RunControl control;
    SignalWatch signals(control);
    try {
        SecretStore secrets;
        secrets.fetch_all(*plan, control);
        const ChosenCopy copy = choose_copy(*plan, secrets, control, options.sink,
                                            options.latest ? std::nullopt : std::optional<std::string>(options.key),
                                            options.latest, "restore");
        request.key = *copy.key;
        request.sink = copy.sink;
        if (plan->sinks.size() > 1) Log::info("restoring from sink '" + copy.sink->name() + "'");
        RestoreResult result = run_restore(*plan, control, secrets, request);
        Log::info("restore complete: key=" + request.key + " stored=" + common::human_bytes(result.stored_bytes) +
                  " restored=" + common::human_bytes(result.restored_bytes) +
                  (plan->source_set ? " streams=" + std::to_string(result.restored_streams.size()) : ""));
        return 0;
    } catch (const ConfigError&) {
        throw;  // a plugin refused its options once secrets were fetched: exit 2, like validate
    } catch (const UsageError&) {
        throw;
    } catch (const std::exception& e) {
        Log::error(std::string("restore failed: ") + e.what());
        return static_cast<int>(ExitCode::run_failed);
    }
}

}  // namespace

void add_restore_command(CommandLine& cli) {
    auto options = std::make_shared<RestoreOptions>();
    CLI::App& command = cli.add_command(
        "restore",
        "read a backup from the sink, decode it and restore it through the source (or into FILE, or stdout with -; a "
        "set's streams into DIR)",
        [options](const Invocation& call) { return restore(*options, call); });
    add_pipeline_argument(command, options->file);
    command.add_option("--key", options->key, "the backup to restore (backhaul list shows them)")->type_name("KEY");
    command.add_flag("--latest", options->latest, "restore the newest complete backup");
    command
        .add_option("-o,--output", options->output,
                    "write the decoded stream to FILE (- for standard output); for a set, each stream to a file "
                    "under the directory DIR")
        ->type_name("FILE|DIR");
    command
        .add_option("--database", options->databases,
                    "a set: restore the stream of database NAME (repeatable; default: every stream)")
        ->type_name("NAME")
        ->allow_extra_args(false);
    command.add_flag("--globals", options->globals, "a set: restore its globals stream (roles, tablespaces)");
    command
        .add_option("--sink", options->sink,
                    "read the copy on sink NAME (default: the first sink that has the backup; with --latest, the "
                    "one with the newest)")
        ->type_name("NAME");
    cli.add_note(command,
                 "After PIPELINE, the pipeline's source takes its own restore options, e.g. --target-database X "
                 "--create for source-postgres; `backhaul plugins describe SOURCE` lists them.");
    cli.accept_extra_arguments(command);
}

}  // namespace backhaul
