// `backhaul verify PIPELINE [--key KEY | --latest]`: read a backup back, check it against its manifest, decode it.
#include <backhaul/common/human_bytes.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/command_line.hpp"
#include "cli/run_report.hpp"
#include "engine/backup_catalog.hpp"
#include "engine/backup_verify.hpp"
#include "engine/secret_store.hpp"
#include "engine/signal_watch.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

struct VerifyOptions {
    std::string file;
    std::optional<std::string> key;
    bool latest = false;
    std::optional<std::string> sink;
};

int verify(const VerifyOptions& options, const GlobalOptions& global) {
    PluginRegistry registry;
    auto plan = plan_pipeline(options.file, registry);
    RunOutcome outcome;
    outcome.pipeline = plan->spec.name;
    outcome.started = std::chrono::system_clock::now();
    outcome.key = options.key.value_or("");
    RunControl control;
    SignalWatch signals(control);
    SecretStore secrets;
    bool fetched = false;
    try {
        secrets.fetch_all(*plan, control);
        fetched = true;
        const ChosenCopy copy = choose_copy(*plan, secrets, control, options.sink, options.key, true, "verify");
        if (plan->sinks.size() > 1) Log::info("verifying the copy on sink '" + copy.sink->name() + "'");
        VerifyResult result = run_verify(*plan, *copy.sink, control, secrets, copy.key);
        double seconds = std::chrono::duration<double>(std::chrono::system_clock::now() - outcome.started).count();
        if (global.quiet) return 0;
        if (!result.is_set) {
            std::printf("verified '%s': %s stored, SHA-256 %s matches its manifest, decoded %s (%.2fs)\n",
                        result.key.c_str(), common::human_bytes(result.stored_bytes).c_str(), result.sha256.c_str(),
                        common::human_bytes(result.decoded_bytes).c_str(), seconds);
            return 0;
        }
        std::printf("verified set '%s': %zu streams, %s stored, decoded %s, each matches its manifest (%.2fs)\n",
                    result.key.c_str(), result.objects.size(), common::human_bytes(result.stored_bytes).c_str(),
                    common::human_bytes(result.decoded_bytes).c_str(), seconds);
        for (const VerifiedObject& o : result.objects)
            std::printf("  %s '%s': %s stored, SHA-256 %s, decoded %s\n", o.stream.c_str(), o.key.c_str(),
                        common::human_bytes(o.stored_bytes).c_str(), o.sha256.c_str(),
                        common::human_bytes(o.decoded_bytes).c_str());
        return 0;
    } catch (const ConfigError& e) {
        // A plugin refused its options once secrets were fetched: exit 2, like validate.
        return report_failure(*plan, fetched ? &secrets : nullptr, outcome, e.what(), ExitCode::usage);
    } catch (const std::exception& e) {
        return report_failure(*plan, fetched ? &secrets : nullptr, outcome, e.what());
    }
}

}  // namespace

void add_verify_command(CommandLine& cli) {
    auto options = std::make_shared<VerifyOptions>();
    CLI::App& command = cli.add_command(
        "verify",
        "read a backup back, check size and SHA-256 against its manifest and decode it to the end (default: the "
        "latest complete backup)",
        [options](const Invocation& call) { return verify(*options, call.global); });
    add_pipeline_argument(command, options->file);
    CLI::Option* key = command.add_option("--key", options->key, "the backup to verify")->type_name("KEY");
    command.add_flag("--latest", options->latest, "the latest complete backup (the default)")->excludes(key);
    command
        .add_option("--sink", options->sink,
                    "verify the copy on sink NAME (default: the first sink that has the backup; without --key, "
                    "the one with the newest)")
        ->type_name("NAME");
}

}  // namespace backhaul
