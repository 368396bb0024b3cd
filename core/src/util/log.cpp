#include "util/log.hpp"

#include <backhaul/common/secure_memory.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

namespace backhaul {
namespace {

struct LogState {
    std::mutex mutex;
    LogFormat format = LogFormat::text;
    bh_log_level min_level = BH_LOG_INFO;
    std::vector<std::string> secrets;  // wiped at exit; never printed
    std::string status;                // the status line currently drawn, "" if none

    ~LogState() {
        for (std::string& s : secrets) common::wipe(s);
    }
};

LogState& state() {
    static LogState s;
    return s;
}

const char* level_name(bh_log_level level) {
    switch (level) {
        case BH_LOG_DEBUG:
            return "debug";
        case BH_LOG_INFO:
            return "info";
        case BH_LOG_WARN:
            return "warn";
        default:
            return "error";
    }
}

std::string timestamp_utc() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

std::string scrub_locked(const LogState& s, std::string_view text) {
    std::string out(text);
    for (const std::string& secret : s.secrets) {
        for (size_t pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + 10))
            out.replace(pos, secret.size(), "<redacted>");
    }
    return out;
}

// One event is one line, whatever a plugin or a child process sent.
std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

// The JSON object of one event. nlohmann's dump escapes quotes, backslashes and control characters, and with
// error_handler_t::replace turns each byte that is not valid UTF-8 into U+FFFD, the standard replacement character
// every strict parser accepts; a child's stray Latin-1 or a line cut inside a multi-byte character cannot make the
// line unparseable. (Escaping such a byte as \u00XX would instead claim it was the character U+00XX.)
std::string json_line(const LogState& s, bh_log_level level, std::string_view stage, const std::string& message,
                      std::span<const LogField> fields) {
    nlohmann::ordered_json event = {{"ts", timestamp_utc()}, {"level", level_name(level)}};
    if (!stage.empty()) event["stage"] = std::string(stage);
    event["msg"] = message;
    for (const LogField& field : fields)
        std::visit(
            [&](const auto& value) {
                if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>)
                    event[field.name] = scrub_locked(s, value);
                else
                    event[field.name] = value;
            },
            field.value);
    return event.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void emit_locked(LogState& s, std::string line) {
    if (!s.status.empty()) line = "\r\x1b[K" + line + s.status;
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

void Log::configure(LogFormat format, bh_log_level min_level) {
    std::lock_guard lock(state().mutex);
    state().format = format;
    state().min_level = min_level;
}

void Log::add_secret(std::string_view value) {
    // Very short values would redact ordinary words and numbers; they are still never logged by the core itself.
    if (value.size() < 4) return;
    std::lock_guard lock(state().mutex);
    for (const std::string& s : state().secrets)
        if (s == value) return;
    state().secrets.emplace_back(value);
}

std::string Log::scrub(std::string_view text) {
    std::lock_guard lock(state().mutex);
    return scrub_locked(state(), text);
}

void Log::write(bh_log_level level, std::string_view stage, std::string_view message,
                std::span<const LogField> fields) {
    LogState& s = state();
    std::lock_guard lock(s.mutex);
    if (level < s.min_level) return;
    std::string clean = one_line(scrub_locked(s, message));
    if (s.format == LogFormat::json) {
        emit_locked(s, json_line(s, level, stage, clean, fields));
        return;
    }
    std::string line = timestamp_utc() + " " + level_name(level) + " ";
    if (!stage.empty()) line += std::string(stage) + ": ";
    emit_locked(s, line + clean + "\n");
}

void Log::print(bh_log_level level, std::string_view message, std::span<const LogField> fields) {
    LogState& s = state();
    std::lock_guard lock(s.mutex);
    std::string clean = scrub_locked(s, message);
    size_t begin = 0;
    while (begin <= clean.size()) {
        size_t end = clean.find('\n', begin);
        if (end == std::string::npos) end = clean.size();
        std::string line = one_line(clean.substr(begin, end - begin));
        begin = end + 1;
        if (line.empty() && begin > clean.size()) break;  // a trailing newline ends the last line, it adds none
        emit_locked(s, s.format == LogFormat::json ? json_line(s, level, "", line, fields) : line + "\n");
    }
}

LogFormat Log::format() {
    std::lock_guard lock(state().mutex);
    return state().format;
}

void Log::set_status(std::string_view line) {
    LogState& s = state();
    std::lock_guard lock(s.mutex);
    std::string clean = one_line(scrub_locked(s, line));
    std::string out = "\r\x1b[K" + clean;
    if (clean.empty() && s.status.empty()) return;
    s.status = clean;
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
}

}  // namespace backhaul
