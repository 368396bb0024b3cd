#include "util/log.hpp"

#include "config/secure_wipe.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
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
        for (std::string& s : secrets) secure_wipe(s);
    }
};

LogState& state() {
    static LogState s;
    return s;
}

const char* level_name(bh_log_level level) {
    switch (level) {
        case BH_LOG_DEBUG: return "debug";
        case BH_LOG_INFO: return "info";
        case BH_LOG_WARN: return "warn";
        default: return "error";
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

void Log::write(bh_log_level level, std::string_view stage, std::string_view message) {
    LogState& s = state();
    std::lock_guard lock(s.mutex);
    if (level < s.min_level) return;
    std::string clean = scrub_locked(s, message);
    // One event is one line, whatever the plugin sent.
    for (char& c : clean)
        if (c == '\n' || c == '\r') c = ' ';
    std::string line;
    if (s.format == LogFormat::json) {
        line = "{\"ts\":" + json_quote(timestamp_utc()) + ",\"level\":" + json_quote(level_name(level));
        if (!stage.empty()) line += ",\"stage\":" + json_quote(stage);
        line += ",\"msg\":" + json_quote(clean) + "}\n";
    } else {
        line = timestamp_utc() + " " + level_name(level) + " ";
        if (!stage.empty()) line += std::string(stage) + ": ";
        line += clean + "\n";
    }
    if (!s.status.empty()) line = "\r\x1b[K" + line + s.status;
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

LogFormat Log::format() {
    std::lock_guard lock(state().mutex);
    return state().format;
}

void Log::set_status(std::string_view line) {
    LogState& s = state();
    std::lock_guard lock(s.mutex);
    std::string clean = scrub_locked(s, line);
    for (char& c : clean)
        if (c == '\n' || c == '\r') c = ' ';
    std::string out = "\r\x1b[K" + clean;
    if (clean.empty() && s.status.empty()) return;
    s.status = clean;
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
}

std::string json_quote(std::string_view text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

}  // namespace backhaul
