// `backhaul check`: the live path of a pipeline, proved before the night run and changing nothing that matters. Every
// secret is fetched, every stage created the way a run creates it, each plugin's own live checks (ABI 1.2 `check`)
// run, and the host adds what holds for every plugin of a kind: a transform encodes and decodes a small buffer, a
// sink stores, reads, stats, lists and deletes a probe object that no backup can be, a notifier sends a test event
// (only when asked). docs/operations.md, "Checking a pipeline", is the user's side of this.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/pipeline_plan.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

enum class CheckStatus {
    passed,
    failed,
    not_checked,  // nothing to check here, or not asked for (a notifier without --notify): not a failure
};
const char* check_status_name(CheckStatus status);  // "passed", "failed", "not checked"

struct CheckResult {
    std::string stage;  // "sink (sink-local)", "secrets.db (secret-env)": the stage's label and plugin
    std::string name;   // what was checked: "write probe object 'db/.backhaul-check-…'"
    CheckStatus status = CheckStatus::passed;
    std::string detail;  // the finding (a version, a size) or, for a failure, the reason; scrubbed of secrets
    std::string fix;     // failures: what to do about it ("" if nothing useful to say)
};

struct LiveCheckOptions {
    bool notify = false;  // send a test event to every notifier
};

struct LiveCheckReport {
    std::vector<CheckResult> results;
    size_t count(CheckStatus status) const;
    bool ok() const { return count(CheckStatus::failed) == 0; }
};

// Calls `on_result` for each check as it completes (the report holds them all too). Fails checks, never throws for
// a check that fails; throws RunError only if interrupted (`control` cancelled by a signal).
LiveCheckReport run_live_check(const PipelinePlan& plan, const LiveCheckOptions& options, RunControl& control,
                               const std::function<void(const CheckResult&)>& on_result);

// The sink probe's key for `plan`: the key template's fixed prefix, then ".backhaul-check-<hex>" (or, where the
// template could produce that name, a path below it), so that it can never be a backup's or Backhaul metadata's.
// `random_hex` is the unique part. Throws RunError if every form could be a backup's key.
std::string probe_key(const PipelinePlan& plan, const SinkPlan& sink, const std::string& random_hex);

}  // namespace backhaul
