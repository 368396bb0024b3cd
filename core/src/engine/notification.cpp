#include "engine/notification.hpp"

#include <algorithm>
#include <string_view>

#include "engine/pipeline_stages.hpp"
#include "engine/run_control.hpp"
#include "errors.hpp"
#include "util/log.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ",") + name;
    return text;
}

std::string notifier_label(const NotifierPlan& notifier) {
    return notifier.stage.spec->label + " (" + notifier.stage.spec->plugin + ")";
}

// Creates the notifier and sends it `outcome` as event `outcome_text` ("success", "failure", "check"). Throws
// RunError naming the notifier.
void deliver(const NotifierPlan& notifier, const ValueResolver& resolver, const RunOutcome& outcome,
             const char* outcome_text) {
    // Its own control: the run's is cancelled after a failure, and the notifier must still be able to send.
    RunControl control;
    std::unique_ptr<PluginInstance> instance = create_stage(notifier.stage, resolver, control);
    bh_run_event event{};
    event.struct_size = sizeof event;
    event.pipeline = outcome.pipeline.c_str();
    event.outcome = outcome_text;
    event.key = outcome.key.c_str();
    std::string error = Log::scrub(outcome.error);
    event.error = error.c_str();
    event.started_unix_ms = unix_ms(outcome.started);
    event.duration_ms = outcome.duration_ms();
    event.raw_bytes = static_cast<int64_t>(outcome.raw_bytes);
    event.stored_bytes = static_cast<int64_t>(outcome.stored_bytes);
    event.backup_complete = outcome.backup_complete ? 1 : 0;
    event.data_committed = outcome.data_committed ? 1 : 0;
    event.shrunken = outcome.shrunken ? 1 : 0;
    event.shrink_baseline_raw_bytes = outcome.shrunken ? static_cast<int64_t>(outcome.shrunken->baseline_raw_bytes) : 0;
    event.untouched_objects = static_cast<int64_t>(outcome.untouched_objects);
    // ABI 1.3; a test event ("check") has no copies, so both lists are empty.
    event.stream_count = static_cast<int32_t>(outcome.stream_count);
    const std::string complete_sinks = joined(outcome.complete_sinks), failed_sinks = joined(outcome.failed_sinks);
    event.complete_sinks = complete_sinks.c_str();
    event.failed_sinks = failed_sinks.c_str();
    instance->notify(event);
    Log::debug(notifier_label(notifier) + ": notified (" + event.outcome + ")");
}

void notify_one(const NotifierPlan& notifier, const ValueResolver& resolver, const RunOutcome& outcome) {
    const std::string label = notifier_label(notifier);
    try {
        deliver(notifier, resolver, outcome, outcome.success ? "success" : "failure");
    } catch (const StageFailure& e) {
        Log::warn("notification failed (the run's outcome is unchanged): " + e.error().line());
    } catch (const std::exception& e) {
        Log::warn("notification failed (the run's outcome is unchanged): " + label + ": " + e.what());
    }
}

bool wants(const NotifierPlan& notifier, const RunOutcome& outcome) {
    return outcome.success ? notifier.events.success : notifier.events.failure;
}

}  // namespace

void send_notifications(const std::vector<NotifierPlan>& notifiers, const ValueResolver& resolver,
                        const RunOutcome& outcome) {
    for (const NotifierPlan& n : notifiers)
        if (wants(n, outcome)) notify_one(n, resolver, outcome);
}

void send_test_notification(const NotifierPlan& notifier, const ValueResolver& resolver, const std::string& pipeline) {
    const uint32_t minor = notifier.stage.plugin->descriptor->abi_minor;
    if (minor < 2)
        throw StageFailure(
            StageError{notifier_label(notifier), BH_KIND_NOTIFIER, "notify", BH_FATAL,
                       "built for plugin ABI 1." + std::to_string(minor) + ", which has no test event; not sent"});
    RunOutcome outcome;
    outcome.pipeline = pipeline;
    outcome.started = outcome.finished = std::chrono::system_clock::now();
    deliver(notifier, resolver, outcome, "check");
}

void send_notifications_without_plan(const std::filesystem::path& file, RunOutcome& outcome) {
    PipelineSpec spec;
    try {
        spec = parse_pipeline_file(file);
    } catch (const std::exception&) {
        return;  // no pipeline name, no notifier: nothing to tell anyone
    }
    outcome.pipeline = spec.name;
    if (spec.notifiers.empty()) return;

    // Load plugin by plugin: one broken library (perhaps the very error being reported) must not hide the notifier.
    PluginRegistry registry;
    std::filesystem::path dir = std::filesystem::absolute(file).parent_path();
    for (const std::filesystem::path& d : plugin_search_path(spec.plugin_path, dir)) {
        std::error_code ec;
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(d, ec))
            if (entry.path().extension() == ".so") files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            try {
                registry.load_file(f);
            } catch (const std::exception&) {
            }
        }
    }
    // No ${secret:...} can be resolved: a notifier that needs one reports that it cannot be set up.
    ProcessEnvResolver env_only;
    for (StageSpec& stage : spec.notifiers) {
        try {
            NotifierPlan plan = plan_notifier(stage, spec.file, registry, env_only);
            if (wants(plan, outcome)) notify_one(plan, env_only, outcome);
        } catch (const std::exception& e) {
            Log::warn(std::string("notification failed (the run's outcome is unchanged): ") + e.what());
        }
    }
}

}  // namespace backhaul
