// Telling the pipeline's [[notify]] plugins how a run ended. Best effort by design: a notifier that cannot be created
// or fails is logged as a warning and never changes the run's outcome or exit code.
#pragma once

#include <filesystem>
#include <vector>

#include "config/interpolation.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/run_outcome.hpp"

namespace backhaul {

// Notifies every notifier whose `on` includes the outcome. Options are bound through `resolver` (the run's secrets
// when they were fetched).
void send_notifications(const std::vector<NotifierPlan>& notifiers, const ValueResolver& resolver,
                        const RunOutcome& outcome);

// The test event of `backhaul check --notify` (outcome "check": no backup ran) to one notifier, whatever its `on`
// says. Unlike a run's notifications it throws RunError (naming the notifier) if the event cannot be delivered, and
// refuses plugins built before ABI 1.2, which would read "check" as a failed backup.
void send_test_notification(const NotifierPlan& notifier, const ValueResolver& resolver, const std::string& pipeline);

// For a run that failed before it had a plan (invalid pipeline, plugin that does not load): parses `file` again and
// notifies each [[notify]] whose plugin loads and whose options bind without secrets (secrets were never fetched).
// Sets outcome.pipeline if the file names one; does nothing more if the file cannot be parsed at all.
void send_notifications_without_plan(const std::filesystem::path& file, RunOutcome& outcome);

}  // namespace backhaul
