// `backhaul list PIPELINE [--json] [--sink NAME]`: the backups under the key template, newest first, as each sink holds
// them.
#include <backhaul/common/human_bytes.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/command_line.hpp"
#include "engine/backup_catalog.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/secret_store.hpp"
#include "engine/signal_watch.hpp"
#include "engine/sink_store.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

struct ListOptions {
    std::string file;
    bool json = false;
    std::optional<std::string> sink;
};

std::string size_text(int64_t size) { return size < 0 ? "?" : common::human_bytes(static_cast<uint64_t>(size)); }

nlohmann::ordered_json json_entry(const BackupEntry& b, const SinkPlan& sink) {
    int64_t ms = unix_ms(b.time);
    nlohmann::ordered_json entry = {{"key", b.key},
                                    {"sink", sink.name()},
                                    {"time", utc_iso8601(ms)},
                                    {"time_unix_ms", ms},
                                    {"stored_bytes", b.stored_bytes},
                                    {"status", status_name(b.status)}};
    if (b.raw_bytes) entry["raw_bytes"] = *b.raw_bytes;
    if (!b.note.empty()) entry["note"] = b.note;
    if (b.is_set) {
        entry["set"] = true;
        nlohmann::ordered_json members = nlohmann::ordered_json::array();
        for (const SetMember& m : b.members) {
            // The manifest's size; without one (a marker names keys only) the listing's.
            const int64_t size = m.recorded_bytes ? static_cast<int64_t>(*m.recorded_bytes) : m.listed_bytes;
            members.push_back(
                {{"stream", m.stream.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(m.stream)},
                 {"key", m.key},
                 {"stored_bytes", size},
                 {"present", m.present}});
        }
        entry["objects"] = std::move(members);
    }
    return entry;
}

void print_table(const PipelinePlan& plan, const SinkPlan& sink, const BackupCatalog& catalog) {
    if (catalog.backups.empty()) {
        std::printf("no backups of pipeline '%s' in sink '%s'\n", plan.spec.name.c_str(), sink.name().c_str());
        return;
    }
    size_t width = 3;
    for (const BackupEntry& b : catalog.backups) width = std::max(width, b.key.size());
    std::printf("%-*s  %-20s  %10s  %s\n", static_cast<int>(width), "KEY", "TIME (UTC)", "STORED", "STATUS");
    for (const BackupEntry& b : catalog.backups) {
        std::string detail = set_summary(b);
        if (!b.note.empty()) detail += (detail.empty() ? "" : "; ") + b.note;
        std::printf("%-*s  %-20s  %10s  %s%s%s\n", static_cast<int>(width), b.key.c_str(),
                    utc_iso8601(unix_ms(b.time)).c_str(), size_text(b.stored_bytes).c_str(), status_name(b.status),
                    detail.empty() ? "" : "  ", detail.c_str());
    }
}

// Every sink's listing (or --sink's): a table per sink, headed by its name when there are several; one JSON array
// whose entries name their sink.
int list(const ListOptions& options) {
    PluginRegistry registry;
    auto plan = plan_pipeline(options.file, registry);
    std::vector<const SinkPlan*> sinks;
    if (options.sink)
        sinks.push_back(&plan->sink_named(*options.sink));
    else
        for (const SinkPlan& sink : plan->sinks) sinks.push_back(&sink);
    RunControl control;
    SignalWatch signals(control);
    try {
        SecretStore secrets;
        secrets.fetch_all(*plan, control);
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        // A sink that cannot be listed is reported and the others are still shown; the exit code says it.
        bool all_listed = true;
        for (const SinkPlan* sink : sinks) {
            std::unique_ptr<PluginInstance> instance = create_stage(sink->stage, secrets, control);
            SinkStore store(*sink, *instance);
            BackupCatalog catalog;
            try {
                catalog = list_backups(*plan, store);
            } catch (const RunError& e) {
                if (sinks.size() == 1 || control.cancelled()) throw;
                Log::error("list failed: sink '" + sink->name() + "': " + e.what());
                all_listed = false;
                continue;
            }
            if (options.json) {
                for (const BackupEntry& b : catalog.backups) out.push_back(json_entry(b, *sink));
                continue;
            }
            if (plan->sinks.size() > 1)
                std::printf("%ssink '%s' (%s):\n", sink == sinks.front() ? "" : "\n", sink->name().c_str(),
                            sink->spec->stage.plugin.c_str());
            print_table(*plan, *sink, catalog);
        }
        if (options.json)
            std::cout << out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
        return all_listed ? 0 : static_cast<int>(ExitCode::run_failed);
    } catch (const ConfigError&) {
        throw;  // a plugin refused its options once secrets were fetched: exit 2, like validate
    } catch (const std::exception& e) {
        Log::error(std::string("list failed: ") + e.what());
        return static_cast<int>(ExitCode::run_failed);
    }
}

}  // namespace

void add_list_command(CommandLine& cli) {
    auto options = std::make_shared<ListOptions>();
    CLI::App& command = cli.add_command("list", "backups under the key template, newest first, and whose they are",
                                        [options](const Invocation&) { return list(*options); });
    add_pipeline_argument(command, options->file);
    command.add_flag("--json", options->json,
                     "one JSON array: key, sink, time, stored_bytes, status, raw_bytes, note; a set adds set and "
                     "objects");
    command.add_option("--sink", options->sink, "list only sink NAME (default: every sink, in turn)")
        ->type_name("NAME");
}

}  // namespace backhaul
