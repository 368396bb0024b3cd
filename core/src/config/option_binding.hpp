// Checks one stage's options against its plugin's static option table and converts them to the ABI form that
// `create` receives (bh_option_value, one per table entry, in table order).
#pragma once

#include <backhaul/plugin_abi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/interpolation.hpp"
#include "config/pipeline_spec.hpp"

namespace backhaul {

// The converted options of one plugin instance. Owns every string and array the bh_option_value pointers point into,
// so it must outlive the plugin's `create` call (plugins copy what they keep). Movable; the pointers stay valid.
class BoundOptions {
  public:
    BoundOptions();
    BoundOptions(BoundOptions&&) noexcept;
    BoundOptions& operator=(BoundOptions&&) noexcept;
    BoundOptions(const BoundOptions&) = delete;
    BoundOptions& operator=(const BoundOptions&) = delete;
    // Wipes the memory of every value that held a secret.
    ~BoundOptions();

    const bh_option_value* data() const;
    uint32_t size() const;
    // The values as a plugin's validate entry sees them: like data(), but a value built from an unfetched secret
    // (validate mode) is BH_VALUE_DEFERRED with no str, items or num. Points into this object.
    std::vector<bh_option_value> validate_values() const;
    // The entry for `name`, or nullptr.
    const bh_option_value* find(std::string_view name) const;

    // "name", "value" of every set option, for logs and manifests. Secret-flagged options and values built from
    // ${secret:...} show as "<redacted>". Lists show as "[a, b]", tables as "{k=v, k2=v2}", sizes in bytes, durations
    // as "<n>ms".
    std::vector<std::pair<std::string, std::string>> display() const;
    // Concrete values to scrub from logs: secret-flagged options and values built from ${secret:...}. Values that are
    // only validate-mode placeholders are not included.
    std::vector<std::string> secret_values() const;
    // "FILE:L:C: stage (plugin): option 'password' holds a literal secret; ..." for secrets written into the file.
    const std::vector<std::string>& warnings() const;

    struct State;

  private:
    friend class OptionBinder;
    std::unique_ptr<State> state_;
};

// ConfigError for unknown, missing, mistyped or unparsable options, e.g.
// "p.toml:9:1: source (source-command): unknown option 'comand' (allowed: command, restore_command)".
// Strings (also list items and table values) are interpolated through `resolver`. A malformed default_value in the
// option table is a plugin bug: std::logic_error naming plugin and option.
// `limits` are the plugin's ranges (ABI 1.2), checked for every value that is known; a value built from an unfetched
// ${secret:...} (validate mode) is checked when a run binds it.
// With `collect`, the problems are added to it instead of thrown, and a refused value is bound as unknown (as if from
// an unfetched secret), so that validate can still run the plugin's own checks on the rest of the stage.
BoundOptions bind_options(const StageSpec& stage, const std::string& plugin_name, const bh_option_spec* specs,
                          uint32_t count, const ValueResolver& resolver, std::span<const bh_option_limits> limits = {},
                          ConfigProblems* collect = nullptr);

// The same for `backhaul restore` flags: (name, value) from argv, name with or without "--", '-' or '_' between
// words (--target-database binds target_database). A flag without a value means true for a BOOL. LIST flags may repeat
// (one item each); TABLE flags take KEY=VALUE and may repeat. No interpolation. Errors are UsageError, e.g.
// "restore option '--jobs': invalid integer 'many'".
BoundOptions bind_cli_options(const std::vector<std::pair<std::string, std::optional<std::string>>>& flags,
                              const std::string& plugin_name, const bh_option_spec* specs, uint32_t count,
                              std::span<const bh_option_limits> limits = {});

// The longest duration any option accepts (pipeline `timeout`, [retention] `incomplete_after`, every DURATION option):
// 100 years. Longer than any real limit or grace period, and short enough that a clock's now() plus it stays far inside
// std::chrono::nanoseconds (which spans 292 years), so no time arithmetic on a valid value can overflow.
inline constexpr int64_t kMaxDurationMs = int64_t{36500} * 24 * 60 * 60 * 1000;
inline constexpr const char* kMaxDurationText = "36500d (100 years)";
// The largest size: what int64 holds.
inline constexpr int64_t kMaxSizeBytes = INT64_MAX;
inline constexpr const char* kMaxSizeText = "9223372036854775807 bytes (8 EiB)";

// A limit as messages and `backhaul plugins describe` say it: "between 1 and 9", "at least 5MiB", "at most 63
// characters long", "at least 2 entries", "not empty"; sizes and durations in the units people write (5MiB, 90s).
std::string limit_text(bh_option_type type, const bh_option_limits& limit);

// Why parse_size or parse_duration refused a text.
enum class QuantityProblem { malformed, too_large };

// Size in bytes: integer digits, optional spaces, optional unit. "", "B" = bytes; k K KiB, M MiB, G GiB, T TiB are
// 1024-based (what people mean by "512k" for buffers); KB kB MB GB TB are 1000-based as the SI prefixes say.
// nullopt if malformed or above kMaxSizeBytes; `problem` (if given) says which.
std::optional<int64_t> parse_size(std::string_view text, QuantityProblem* problem = nullptr);
// Duration in milliseconds: one or more <digits><unit>, units ms s m h d, e.g. "500ms", "1h30m". nullopt if malformed
// or above kMaxDurationMs (overflow included); `problem` (if given) says which.
std::optional<int64_t> parse_duration(std::string_view text, QuantityProblem* problem = nullptr);

// A host-level duration as a pipeline file writes it, integer seconds or a parse_duration string: milliseconds in
// [0, kMaxDurationMs], else ConfigError at the value, e.g. "p.toml:3:11: 'timeout': duration '1000000d' is above the
// maximum of 36500d (100 years)". `what` names the key.
int64_t duration_value(const toml::node& node, const std::string& file, const std::string& what);
// A top-level size (integer bytes or a string like "40MiB"), as BH_OPT_SIZE options take it. ConfigError naming `what`
// at the node's position.
int64_t size_value(const toml::node& node, const std::string& file, const std::string& what);

}  // namespace backhaul
