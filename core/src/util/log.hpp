// The process-wide logger: one line per event on stderr, as text or JSON, with every registered secret value scrubbed.
#pragma once

#include <backhaul/plugin_abi.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace backhaul {

enum class LogFormat { text, json };

// A machine-readable field of a log event: a member of the JSON object in `--log-format json`, not shown in text
// (the message says the same in prose).
struct LogField {
    std::string name;
    std::variant<std::string, int64_t, uint64_t, double, bool> value;
};

class Log {
  public:
    static void configure(LogFormat format, bh_log_level min_level);
    // Registers a value that must never be printed (a secret's field, a secret-flagged option). Thread-safe.
    static void add_secret(std::string_view value);
    // Replaces every registered secret in `text` with "<redacted>".
    static std::string scrub(std::string_view text);

    // `stage` is "" for the core itself, else e.g. "source (source-command)". Thread-safe; secrets are scrubbed.
    // Whatever bytes `message` holds (a child's invalid UTF-8, control characters), a JSON line stays valid JSON.
    static void write(bh_log_level level, std::string_view stage, std::string_view message,
                      std::span<const LogField> fields = {});
    static void info(std::string_view message) { write(BH_LOG_INFO, "", message); }
    static void warn(std::string_view message) { write(BH_LOG_WARN, "", message); }
    static void error(std::string_view message) { write(BH_LOG_ERROR, "", message); }
    static void debug(std::string_view message) { write(BH_LOG_DEBUG, "", message); }

    // A line for the person at the terminal, such as "p.toml:3:1: ..." or "backhaul: run: unknown option '--json'":
    // in text each line of `message` as it is (no time stamp or level, as compilers print errors), in JSON each line
    // one log event. Shown whatever the least severe level logged is; secrets are scrubbed.
    static void print(bh_log_level level, std::string_view message, std::span<const LogField> fields = {});

    static LogFormat format();
    // A transient status line (the progress of a run on a terminal): drawn with "\r" and erased before every log line,
    // then drawn again after it, so log lines and the status never mix. "" clears it. Only for terminals.
    static void set_status(std::string_view line);
};

}  // namespace backhaul
