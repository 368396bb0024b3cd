#include "config/time_zone.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace backhaul {
namespace {

// glibc's localtime_r with TZ set is the reference the reader must agree with (tests are single-threaded, so setting
// TZ here is safe; the core itself never does).
int64_t glibc_offset(const std::string& zone, int64_t unix_seconds) {
    ::setenv("TZ", (":" + zone).c_str(), 1);
    ::tzset();
    const time_t t = static_cast<time_t>(unix_seconds);
    struct tm local {};
    ::localtime_r(&t, &local);
    return local.tm_gmtoff;
}

TEST(TimeZone, UtcNeedsNoFile) {
    EXPECT_EQ(TimeZone::load("").utc_offset(1795539909), 0);
    EXPECT_EQ(TimeZone::load("UTC").utc_offset(1795539909), 0);
    EXPECT_EQ(TimeZone::utc().name(), "UTC");
}

TEST(TimeZone, SeoulIsNineHoursAhead) {
    const TimeZone seoul = TimeZone::load("Asia/Seoul");
    EXPECT_EQ(seoul.name(), "Asia/Seoul");
    EXPECT_EQ(seoul.utc_offset(1795539909), 9 * 3600);
    EXPECT_EQ(seoul.utc_offset(4102444800), 9 * 3600);  // 2100, past the last transition: footer rule
}

TEST(TimeZone, BerlinSwitchesAtTheLastSundayOfMarch) {
    const TimeZone berlin = TimeZone::load("Europe/Berlin");
    EXPECT_EQ(berlin.utc_offset(1774746000 - 1), 3600);  // 2026-03-29 00:59:59Z
    EXPECT_EQ(berlin.utc_offset(1774746000), 7200);      // 2026-03-29 01:00:00Z
    // 2090, beyond the file's transitions, decided by the POSIX rule "CET-1CEST,M3.5.0,M10.5.0/3".
    EXPECT_EQ(berlin.utc_offset(3799958400), 7200);  // 2090-06-01
    EXPECT_EQ(berlin.utc_offset(3815856000), 3600);  // 2090-12-02
}

TEST(TimeZone, AgreesWithGlibcAcrossZonesAndCenturies) {
    const char* const old_tz = std::getenv("TZ");
    const std::string saved = old_tz ? old_tz : "";
    for (const std::string zone :
         {"Asia/Seoul", "Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata",
          "Pacific/Chatham", "America/St_Johns", "Europe/Dublin", "Africa/Casablanca"}) {
        const TimeZone loaded = TimeZone::load(zone);
        // Every ~3.3 days from 1900 to 2120, plus a few seconds around each step to hit transitions from both sides.
        for (int64_t t = -2208988800; t < 4733510400; t += 287'999) {
            ASSERT_EQ(loaded.utc_offset(t), glibc_offset(zone, t)) << zone << " at " << t;
        }
    }
    if (old_tz) {
        ::setenv("TZ", saved.c_str(), 1);
    } else {
        ::unsetenv("TZ");
    }
    ::tzset();
}

TEST(TimeZone, RejectsUnknownAndUnsafeNames) {
    const auto error_of = [](const std::string& name) -> std::string {
        try {
            TimeZone::load(name);
        } catch (const std::runtime_error& error) {
            return error.what();
        }
        return "(no error)";
    };
    EXPECT_EQ(error_of("Mars/Olympus"), "unknown timezone 'Mars/Olympus' (no file /usr/share/zoneinfo/Mars/Olympus)");
    EXPECT_EQ(error_of("../../etc/passwd"), "invalid timezone name '../../etc/passwd'");
    EXPECT_EQ(error_of("/etc/localtime"), "invalid timezone name '/etc/localtime'");
    EXPECT_EQ(error_of("Asia/ Seoul"), "invalid timezone name 'Asia/ Seoul'");
    EXPECT_EQ(error_of("zone.tab"), "timezone file /usr/share/zoneinfo/zone.tab is not a valid TZif file");
}

}  // namespace
}  // namespace backhaul
