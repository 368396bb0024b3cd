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

// For a run that failed before it had a plan (invalid pipeline, plugin that does not load): parses `file` again and
// notifies each [[notify]] whose plugin loads and whose options bind without secrets (secrets were never fetched).
// Sets outcome.pipeline if the file names one; does nothing more if the file cannot be parsed at all.
void send_notifications_without_plan(const std::filesystem::path& file, RunOutcome& outcome);

}  // namespace backhaul
