// The process-wide logger: one line per event on stderr, as text or JSON, with every registered secret value scrubbed.
#pragma once

#include <string>
#include <string_view>

#include <backhaul/plugin_abi.h>

namespace backhaul {

enum class LogFormat { text, json };

class Log {
public:
    static void configure(LogFormat format, bh_log_level min_level);
    // Registers a value that must never be printed (a secret's field, a secret-flagged option). Thread-safe.
    static void add_secret(std::string_view value);
    // Replaces every registered secret in `text` with "<redacted>".
    static std::string scrub(std::string_view text);

    // `stage` is "" for the core itself, else e.g. "source (source-command)". Thread-safe; secrets are scrubbed.
    static void write(bh_log_level level, std::string_view stage, std::string_view message);
    static void info(std::string_view message) { write(BH_LOG_INFO, "", message); }
    static void warn(std::string_view message) { write(BH_LOG_WARN, "", message); }
    static void error(std::string_view message) { write(BH_LOG_ERROR, "", message); }
    static void debug(std::string_view message) { write(BH_LOG_DEBUG, "", message); }

    static LogFormat format();
    // A transient status line (the progress of a run on a terminal): drawn with "\r" and erased before every log line,
    // then drawn again after it, so log lines and the status never mix. "" clears it. Only for terminals.
    static void set_status(std::string_view line);
};

// JSON string literal for `text` (quotes included), for the few places that print JSON without a library.
std::string json_quote(std::string_view text);

}  // namespace backhaul
