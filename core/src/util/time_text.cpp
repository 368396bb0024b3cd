#include "util/time_text.hpp"

#include <cstdio>
#include <ctime>

namespace backhaul {

std::string utc_iso8601(int64_t unix_ms) {
    std::time_t seconds = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

int64_t unix_ms(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::string human_duration(int64_t ms) {
    char buf[48];
    if (ms < 60'000) {
        std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ms) / 1000.0);
    } else {
        int64_t s = ms / 1000;
        if (s >= 3600)
            std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                          static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
        else
            std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                          static_cast<long long>(s % 60));
    }
    return buf;
}

}  // namespace backhaul
