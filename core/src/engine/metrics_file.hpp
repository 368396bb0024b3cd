// `--metrics-file PATH`: the outcome of the last run in Prometheus text format for node_exporter's textfile
// collector, written atomically (temp file + rename) so the collector never reads half a file. The time of the last
// successful run is carried forward from the previous file across failed runs: that is the dead-man switch
// ("no successful backup in 26 h") an alert needs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "engine/run_outcome.hpp"

namespace backhaul {

// The file's text for `outcome`; `previous_success_unix_seconds` is used when this run did not store a backup.
std::string metrics_text(const RunOutcome& outcome, std::optional<double> previous_success_unix_seconds);

// backhaul_last_success_timestamp_seconds{pipeline="<pipeline>"} from an earlier file's text, if present.
std::optional<double> previous_success_timestamp(const std::string& text, const std::string& pipeline);

// Reads the previous file (if any), writes the new one. Throws std::runtime_error with the path on failure.
void write_metrics_file(const std::filesystem::path& path, const RunOutcome& outcome);

}  // namespace backhaul
