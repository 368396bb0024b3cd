// A pipeline file parsed into what the runner needs: stages with their raw options, the key template and settings.
// Only the file's shape is checked here; options are checked against each plugin's option table by bind_options.
#pragma once

#include <backhaul/plugin_abi.h>
#include <toml++/toml.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "errors.hpp"

namespace backhaul {

struct OptionEntry {
    std::string name;
    // Points into the parsed document (which it keeps alive), so source positions of nested values stay available.
    std::shared_ptr<const toml::node> value;
    SourcePosition where;  // of the key
};

struct StageSpec {
    std::string label;     // how errors name the stage: "source", "transform[0]", "sink", "secrets.db", "notify[0]"
    bh_kind kind = 0;      // the plugin kind this stage needs
    std::string plugin;    // "<kind>-<name>", e.g. "compress-gzip"
    SourcePosition where;  // of the stage's table
    SourcePosition plugin_where;       // of the `plugin` value
    std::vector<OptionEntry> options;  // every key except `plugin` and host-level keys, in file order
};

// One destination: `[sink]`, or one table of `[[sink]]` (docs/sets.md, "Several sinks"). `name`, `required` and
// `key` belong to the host, not to the sink plugin.
struct SinkSpec {
    StageSpec stage;   // label "sink" for a `[sink]` table, "sink.NAME" for a table of `[[sink]]`
    std::string name;  // unique in the pipeline; default: the plugin's name without "sink-" ("local", "ncloud-s3")
    SourcePosition name_where;  // of `name`, or of the table when defaulted
    // A copy that may fail with a warning (`required = false`); a required copy that fails fails the run (exit 1)
    // while the other sinks still commit theirs.
    bool required = true;
    std::string key_template;  // `key`; syntax already checked by KeyTemplate::parse
    SourcePosition key_where;
};

struct PipelineSpec {
    std::string file;  // as given by the caller; prefixes every error
    std::string name;
    SourcePosition name_where;
    std::string timezone;  // "" = UTC
    SourcePosition timezone_where;
    std::vector<std::string> plugin_path;  // as written; relative entries are the loader's to resolve
    std::string lock_dir;                  // "" = the default lock directory (see RunLock)
    std::optional<int64_t> timeout_ms;     // the whole run's time limit; nullopt = none
    SourcePosition timeout_where;
    // A run whose source produced 0 bytes fails (nothing committed) unless this is set: a dump that "succeeded" with
    // no output is the classic way to lose every backup to retention.
    bool allow_empty = false;
    // A complete backup whose raw size is below this fraction of the previous good one's is shrunken: kept, reported,
    // taking no keep_* slot (docs/retention.md). 0 = off.
    double shrink_threshold = 0.5;
    // Streams of a set (docs/sets.md) backed up or restored at once; each has its own transform instances and queues,
    // so memory grows with it. A one-stream pipeline ignores it.
    int jobs = 1;
    SourcePosition jobs_where;
    // The bytes the run's buffers (the engine's queues and the buffering stages' shares, docs/memory.md) may hold at
    // once, over all streams running at once; nullopt = the default, kDefaultMemoryPerStream for each of them.
    std::optional<int64_t> memory_budget;
    SourcePosition memory_budget_where;
    std::vector<std::pair<std::string, StageSpec>> secrets;  // [secrets.<id>] in file order
    StageSpec source;
    std::vector<StageSpec> transforms;
    std::vector<SinkSpec> sinks;       // `[sink]` (one) or `[[sink]]` in file order; never empty once parsed cleanly
    std::vector<StageSpec> notifiers;  // [[notify]]; host-level `on` is still among their options
    std::shared_ptr<const toml::table> retention;  // [retention] as written; null if absent
};

// The most streams a set runs at once: each holds its queues (stream_pipeline.hpp) and a dump process.
inline constexpr int kMaxJobs = 64;

// Reads and parses `path`; the file label in errors is path.string(). ConfigError if unreadable or invalid, with every
// problem of the file's shape (a TOML syntax error stops at that one).
PipelineSpec parse_pipeline_file(const std::filesystem::path& path);
PipelineSpec parse_pipeline_text(std::string_view text, const std::string& file_label);
// The same, adding shape problems to `problems` instead of throwing them (ConfigError still for unreadable files and
// TOML syntax), so a caller can go on checking the rest. A stage with a problem in its table or `plugin` keeps an
// empty `plugin`; a key that is invalid keeps its default.
PipelineSpec parse_pipeline_file(const std::filesystem::path& path, ConfigProblems& problems);
PipelineSpec parse_pipeline_text(std::string_view text, const std::string& file_label, ConfigProblems& problems);

// The rule for a pipeline `name` (used by parsing, so validate and every command apply it): letters, digits, '_', '.'
// and '-'; not "." or ".." ({pipeline} is often a key's path segment); at most kMaxPipelineNameLength characters (the
// lock file is "<name>-<12 hex digits>.lock" and must fit a file name). nullopt if `name` is fine, else the message.
inline constexpr size_t kMaxPipelineNameLength = 128;
std::optional<std::string> pipeline_name_problem(std::string_view name);

// TOML type of `node` as errors name it: "string", "integer", "table", ...
std::string toml_type_name(const toml::node& node);
// Position of `node` in `file` (toml++ positions are 1-based).
SourcePosition position_of(const toml::node& node, const std::string& file);

}  // namespace backhaul
