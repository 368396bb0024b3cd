#include "engine/live_check.hpp"

#include <algorithm>
#include <backhaul/common/human_bytes.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "config/key_template.hpp"
#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"
#include "engine/notification.hpp"
#include "engine/pipeline_stages.hpp"
#include "engine/plugin_instance.hpp"
#include "engine/secret_store.hpp"
#include "engine/sink_store.hpp"
#include "engine/stream_pipeline.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

std::string stage_name(const StagePlan& stage) { return stage.spec->label + " (" + stage.spec->plugin + ")"; }

// Why a step failed, for a check line that already shows the stage: a plugin's failure without its stage label.
std::string reason(const std::exception& e) {
    if (const auto* failure = dynamic_cast<const StageFailure*>(&e)) return failure->error().message;
    return e.what();
}

class CheckRecorder {
  public:
    CheckRecorder(LiveCheckReport& report, const std::function<void(const CheckResult&)>& on_result)
        : report_(report), on_result_(on_result) {}

    void add(const std::string& stage, const std::string& name, CheckStatus status, const std::string& detail,
             const std::string& fix = "") {
        CheckResult result{stage, Log::scrub(name), status, Log::scrub(detail), Log::scrub(fix)};
        report_.results.push_back(result);
        if (on_result_) on_result_(report_.results.back());
    }
    void pass(const std::string& stage, const std::string& name, const std::string& detail = "") {
        add(stage, name, CheckStatus::passed, detail);
    }
    void fail(const std::string& stage, const std::string& name, const std::string& reason, const std::string& fix) {
        add(stage, name, CheckStatus::failed, reason, fix);
    }
    void not_checked(const std::string& stage, const std::string& name, const std::string& why) {
        add(stage, name, CheckStatus::not_checked, why);
    }

  private:
    LiveCheckReport& report_;
    const std::function<void(const CheckResult&)>& on_result_;
};

// The fetched secrets, and the ids whose fetch failed: a stage built from one of those is "not checked", not failed
// a second time for the same cause.
class CheckSecrets : public ValueResolver {
  public:
    CheckSecrets(const SecretStore& store, const std::set<std::string>& failed) : store_(store), failed_(failed) {}
    std::optional<std::string> env(const std::string& name) const override { return store_.env(name); }
    bool has_secret(const std::string& id) const override { return store_.has_secret(id) || failed_.count(id); }
    std::optional<std::string> secret(const std::string& id, const std::string& field) const override {
        if (failed_.count(id)) {
            missing_ = id;
            throw RunError("secret '" + id + "' could not be fetched");
        }
        return store_.secret(id, field);
    }
    // The failed secret the last binding asked for, if any; forgets it.
    std::optional<std::string> take_missing() const { return std::exchange(missing_, std::nullopt); }

  private:
    const SecretStore& store_;
    const std::set<std::string>& failed_;
    mutable std::optional<std::string> missing_;
};

void stop_if_interrupted(const RunControl& control) {
    if (control.cancelled()) throw RunError(control.error().value_or("interrupted"));
}

std::string random_hex() {
    std::random_device random;
    std::uniform_int_distribution<uint64_t> any;
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(any(random)));
    return text;
}

enum class PluginCheck { absent, passed, failed };

// Runs the plugin's own `check` entry, if it has one.
PluginCheck run_plugin_check(PluginInstance& instance, const std::string& stage, CheckRecorder& recorder,
                             const std::string& probe = "") {
    if (!instance.has_check()) return PluginCheck::absent;
    bool reported_failure = false;
    try {
        instance.check_live(probe, [&](const PluginCheckLine& line) {
            if (!line.ok) reported_failure = true;
            recorder.add(stage, line.name, line.ok ? CheckStatus::passed : CheckStatus::failed, line.detail, line.fix);
        });
    } catch (const StageFailure& e) {
        // A plugin that fails without saying what failed still fails the check.
        if (!reported_failure) recorder.fail(stage, "live check", e.error().message, "");
        return PluginCheck::failed;
    }
    return reported_failure ? PluginCheck::failed : PluginCheck::passed;
}

// A small buffer that compresses somewhat and is not all alike, so encoders do real work.
std::string sample_data() {
    std::string data;
    std::mt19937 random(20261202);
    while (data.size() < 16384) {
        data += "backhaul check " + std::to_string(data.size()) + " ";
        for (int i = 0; i < 24; ++i) data.push_back(static_cast<char>(random() & 0xff));
        data += "\n";
    }
    data.resize(16384);
    return data;
}

// One transform's stream in `direction` over `input`, through the engine that backups and restores use.
std::string transform_stream(PluginInstance& transform, bh_direction direction, const std::string& input) {
    RunControl control;  // its own: a failure cancels only this stream
    size_t offset = 0;
    std::string output;
    StreamEnds ends;
    ends.producer_label = "check";
    ends.read = [&](std::span<uint8_t> buffer) {
        size_t n = std::min(buffer.size(), input.size() - offset);
        std::copy_n(input.data() + offset, n, buffer.data());
        offset += n;
        return n;
    };
    ends.consumer_label = "check";
    ends.write = [&](std::span<const uint8_t> data) {
        output.append(reinterpret_cast<const char*>(data.data()), data.size());
    };
    StreamResult streamed = run_stream(control, ends, {&transform}, direction);
    if (!streamed.complete) throw RunError(control.error().value_or("the stream did not complete"));
    return output;
}

// A decode stream the plugin refuses as configured (encrypt-age without an identity on a backup-only host) is not a
// failure: backups do not decode. Its message says what restores would need.
std::optional<StageError> decode_refused(PluginInstance& transform) {
    const bh_output discard{nullptr, [](void*, const uint8_t*, size_t) -> bh_status { return BH_OK; }};
    try {
        transform.open_transform(BH_DECODE, discard);  // closed again at once
        return std::nullopt;
    } catch (const StageFailure& e) {
        if (e.error().status != BH_INVALID_CONFIG) throw;
        return e.error();
    }
}

void check_transform(PluginInstance& transform, const std::string& stage, CheckRecorder& recorder) {
    run_plugin_check(transform, stage, recorder);
    const std::string sample = sample_data();
    const std::string name = "encode and decode " + common::human_bytes(sample.size());
    std::string encoded;
    try {
        encoded = transform_stream(transform, BH_ENCODE, sample);
    } catch (const std::exception& e) {
        recorder.fail(stage, name, std::string("encoding failed: ") + e.what(),
                      "backups through this transform would fail the same way");
        return;
    }
    try {
        if (std::optional<StageError> refused = decode_refused(transform)) {
            recorder.pass(stage, name,
                          "encoded to " + common::human_bytes(encoded.size()) +
                              "; decode not checked: " + refused->message + " (needed only for restore and verify)");
            return;
        }
        std::string decoded = transform_stream(transform, BH_DECODE, encoded);
        if (decoded != sample) {
            recorder.fail(stage, name,
                          "decoding gave " + common::human_bytes(decoded.size()) + " that differ from the " +
                              common::human_bytes(sample.size()) + " encoded",
                          "restores through this transform would be wrong; report this plugin's bug");
            return;
        }
    } catch (const std::exception& e) {
        recorder.fail(stage, name, std::string("decoding failed: ") + e.what(),
                      "restores and verify of this pipeline's backups would fail the same way");
        return;
    }
    recorder.pass(stage, name, "encoded to " + common::human_bytes(encoded.size()) + ", decoded back identically");
}

// The host's own sink checks: the probe object goes through the same begin/write/commit, read, stat, list and
// remove calls that backups, restores, verify and retention make, under the key template's prefix. The only key it
// ever deletes is the one it has just created (the commit proved nothing was there before: sinks never replace).
void check_sink_probe(const PipelinePlan& plan, const SinkPlan& destination, PluginInstance& sink,
                      const std::string& stage, const std::string& key, CheckRecorder& recorder,
                      const ValueResolver& secrets, const RunControl& control) {
    SinkStore store(destination, sink);
    const std::string payload =
        "backhaul check probe of pipeline '" + plan.spec.name + "' (" + key + "); not a backup, safe to delete\n";
    const std::string shown = "'" + key + "'";
    try {
        store.put(key, payload);
    } catch (const std::exception& e) {
        recorder.fail(stage, "write probe object " + shown, reason(e),
                      "backups need to create objects under '" + pipeline_key_matcher(plan, destination).prefix() +
                          "': check the sink's permissions, path and free space");
        return;
    }
    recorder.pass(stage, "write probe object " + shown, common::human_bytes(payload.size()) + " committed");

    try {
        std::string back = store.read_all(key, payload.size() + 1);
        if (back != payload)
            recorder.fail(stage, "read it back",
                          "the sink returned " + common::human_bytes(back.size()) + " that differ from what was stored",
                          "restores would read wrong data: check the store");
        else
            recorder.pass(stage, "read it back", "identical");
    } catch (const std::exception& e) {
        recorder.fail(stage, "read it back", reason(e), "restore and verify need to read objects: check permissions");
    }

    try {
        StoredObject info = store.stat(key);
        if (info.size >= 0 && static_cast<size_t>(info.size) != payload.size())
            recorder.fail(stage, "stat it",
                          "the sink reports " + std::to_string(info.size) + " bytes, " +
                              std::to_string(payload.size()) + " were stored",
                          "check the store");
        else
            recorder.pass(stage, "stat it", info.size >= 0 ? std::to_string(info.size) + " bytes" : "size unknown");
    } catch (const std::exception& e) {
        recorder.fail(stage, "stat it", reason(e), "check the sink's permission to read object metadata");
    }

    // The probe's own key as the prefix: one short listing whatever else the bucket holds.
    auto listed = [&]() {
        for (const StoredObject& o : store.list(key))
            if (o.key == key) return true;
        return false;
    };
    try {
        if (listed())
            recorder.pass(stage, "list finds it");
        else
            recorder.fail(stage, "list finds it", "the listing does not show the object just committed",
                          "list, verify --latest and retention rely on listings: check the sink's list permission");
    } catch (const std::exception& e) {
        recorder.fail(stage, "list finds it", reason(e),
                      "list, verify --latest and retention need to list objects: grant the list permission");
    }

    try {
        try {
            store.remove({key});
        } catch (const std::exception&) {
            if (!control.cancelled()) throw;
            // Interrupted: every call of this instance now fails, but the probe must not stay. Like a run's pending
            // marker, it goes through a sink instance of its own.
            RunControl own;
            std::unique_ptr<PluginInstance> cleanup = create_stage(destination.stage, secrets, own);
            SinkStore(destination, *cleanup).remove({key});
        }
    } catch (const std::exception& e) {
        recorder.fail(stage, "remove it", reason(e),
                      "delete " + shown + " by hand; retention (prune) needs this permission too");
        return;
    }
    try {
        if (listed())
            recorder.fail(stage, "remove it", "the object is still listed after the sink removed it",
                          "delete " + shown + " by hand; retention would not free space either");
        else
            recorder.pass(stage, "remove it", "gone from the listing; nothing left behind");
    } catch (const std::exception& e) {
        recorder.fail(stage, "remove it", std::string("removed, but listing again failed: ") + e.what(),
                      "make sure " + shown + " is gone");
    }
}

}  // namespace

const char* check_status_name(CheckStatus status) {
    switch (status) {
        case CheckStatus::passed:
            return "passed";
        case CheckStatus::failed:
            return "failed";
        case CheckStatus::not_checked:
            return "not checked";
    }
    return "unknown";
}

size_t LiveCheckReport::count(CheckStatus status) const {
    return static_cast<size_t>(
        std::count_if(results.begin(), results.end(), [&](const CheckResult& r) { return r.status == status; }));
}

std::string probe_key(const PipelinePlan& plan, const SinkPlan& sink, const std::string& random_hex) {
    const KeyMatcher matcher = pipeline_key_matcher(plan, sink);
    const std::string name = ".backhaul-check-" + random_hex;
    // A path below the name when the template's variables could spell the name itself ({pipeline}{ext}).
    for (const std::string& candidate : {matcher.prefix() + name, matcher.prefix() + name + "/probe"}) {
        try {
            check_object_key(candidate);
        } catch (const std::exception&) {
            continue;
        }
        if (!matcher.match(candidate) && !is_metadata_key(candidate)) return candidate;
    }
    throw RunError("the key template '" + sink.key.text() + "' could produce any probe name under '" +
                   matcher.prefix() + "', so no probe object is written");
}

LiveCheckReport run_live_check(const PipelinePlan& plan, const LiveCheckOptions& options, RunControl& control,
                               const std::function<void(const CheckResult&)>& on_result) {
    LiveCheckReport report;
    CheckRecorder recorder(report, on_result);

    SecretStore store;
    std::set<std::string> failed_secrets;
    for (size_t i = 0; i < plan.secrets.size(); ++i) {
        const std::string stage = stage_name(plan.secrets[i]);
        const std::string& id = plan.spec.secrets[i].first;
        try {
            std::vector<std::string> fields = store.fetch(plan, i, control);
            std::string names;
            for (const std::string& f : fields) names += (names.empty() ? "" : ", ") + f;
            recorder.pass(stage, "fetch secret '" + id + "'",
                          std::to_string(fields.size()) + " field(s): " + (names.empty() ? "none" : names));
        } catch (const std::exception& e) {
            failed_secrets.insert(id);
            recorder.fail(stage, "fetch secret '" + id + "'", reason(e),
                          "check [secrets." + id + "]'s options and that this host may read that secret");
        }
        stop_if_interrupted(control);
    }
    CheckSecrets secrets(store, failed_secrets);

    // Created as a run creates them; a stage whose options need a failed secret is reported once, above.
    auto create = [&](const StagePlan& stage) -> std::unique_ptr<PluginInstance> {
        try {
            return create_stage(stage, secrets, control);
        } catch (const std::exception& e) {
            if (std::optional<std::string> missing = secrets.take_missing())
                recorder.not_checked(stage_name(stage), "set up",
                                     "needs secret '" + *missing + "', which could not be fetched");
            else
                recorder.fail(stage_name(stage), "set up", reason(e),
                              "check the stage's options (backhaul plugins describe " + stage.spec->plugin + ")");
            return nullptr;
        }
    };

    if (std::unique_ptr<PluginInstance> source = create(plan.source)) {
        const std::string stage = stage_name(plan.source);
        if (run_plugin_check(*source, stage, recorder) == PluginCheck::absent)
            recorder.not_checked(stage, "live check",
                                 plan.spec.source.plugin +
                                     " has no live check of its own; a "
                                     "backup run proves it");
    }
    stop_if_interrupted(control);

    for (const StagePlan& t : plan.transforms) {
        if (std::unique_ptr<PluginInstance> transform = create(t)) check_transform(*transform, stage_name(t), recorder);
        stop_if_interrupted(control);
    }

    for (const SinkPlan& destination : plan.sinks) {
        std::unique_ptr<PluginInstance> sink = create(destination.stage);
        if (!sink) continue;
        const std::string stage = stage_name(destination.stage);
        std::string key;
        try {
            key = probe_key(plan, destination, random_hex());
        } catch (const std::exception& e) {
            recorder.not_checked(stage, "probe object", e.what());
        }
        const PluginCheck own = run_plugin_check(*sink, stage, recorder, key);
        stop_if_interrupted(control);
        // The sink's own checks name the cause (a wrong secret, a missing permission); the probe would only fail
        // again for it, one line per call.
        if (own == PluginCheck::failed && !key.empty())
            recorder.not_checked(stage, "probe object", "the sink's own checks failed above; fix those first");
        else if (!key.empty())
            check_sink_probe(plan, destination, *sink, stage, key, recorder, secrets, control);
        stop_if_interrupted(control);
    }
    stop_if_interrupted(control);

    for (const NotifierPlan& n : plan.notifiers) {
        const std::string stage = stage_name(n.stage);
        if (!options.notify) {
            recorder.not_checked(stage, "send a test event", "add --notify to send one");
            continue;
        }
        try {
            send_test_notification(n, secrets, plan.spec.name);
            recorder.pass(stage, "send a test event", "delivered (outcome \"check\")");
        } catch (const std::exception& e) {
            if (std::optional<std::string> missing = secrets.take_missing())
                recorder.not_checked(stage, "send a test event",
                                     "needs secret '" + *missing + "', which could not be fetched");
            else
                recorder.fail(stage, "send a test event", reason(e),
                              "check the notifier's options and that this host can reach it; failure "
                              "notifications of real runs would be lost the same way");
        }
        stop_if_interrupted(control);
    }
    return report;
}

}  // namespace backhaul
