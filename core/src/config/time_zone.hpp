// UTC offsets of an IANA time zone, read from the system's TZif files (/usr/share/zoneinfo).
//
// Why not TZ + localtime_r: that needs setenv("TZ"), which races with getenv in plugin threads. GCC 12 has no
// std::chrono::zoned_time. So the core reads the compiled zone file itself (RFC 8536), including the POSIX TZ footer
// that describes the rule after the last listed transition.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace backhaul {

class TimeZone {
  public:
    // Directory holding the compiled zones.
    static constexpr const char* zoneinfo_dir = "/usr/share/zoneinfo";

    static TimeZone utc();
    // "" and "UTC" give UTC without touching the file system. Throws std::runtime_error with a one-line reason when the
    // name is not a safe relative zone name, the file is missing or it is not a valid TZif file.
    static TimeZone load(const std::string& name);

    const std::string& name() const { return name_; }
    // Seconds east of UTC in effect at `unix_seconds` (UTC).
    int64_t utc_offset(int64_t unix_seconds) const;

    struct Rules;  // parsed zone data; defined in the source file

  private:
    std::string name_;
    std::shared_ptr<const Rules> rules_;  // null = UTC
};

}  // namespace backhaul
