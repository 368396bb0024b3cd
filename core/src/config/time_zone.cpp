#include "config/time_zone.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace backhaul {

namespace {

constexpr int64_t seconds_per_day = 86400;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t days_since_epoch(int year, unsigned month, unsigned day) {
    using namespace std::chrono;
    return sys_days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}}
        .time_since_epoch()
        .count();
}

int civil_year(int64_t unix_seconds) {
    using namespace std::chrono;
    const sys_days days{std::chrono::days{floor_div(unix_seconds, seconds_per_day)}};
    return int(year_month_day{days}.year());
}

bool is_leap_year(int year) { return std::chrono::year{year}.is_leap(); }

// One end of a daylight-saving period in a POSIX TZ string: "Jn", "n" or "Mm.w.d", plus "/time".
struct PosixDate {
    enum class Form { julian_without_leap_day, zero_based_day, month_week_weekday } form = Form::month_week_weekday;
    int day = 0;  // Jn: 1..365; n: 0..365; Mm.w.d: d, 0 = Sunday
    int month = 0;
    int week = 0;         // 1..5, 5 = last
    int64_t time = 7200;  // seconds after local midnight; may be negative or exceed a day (RFC 8536 extension)

    // Local midnight of the rule's day in `year`, as days since the epoch.
    int64_t day_in(int year) const {
        switch (form) {
            case Form::julian_without_leap_day:
                return days_since_epoch(year, 1, 1) + day - 1 + ((is_leap_year(year) && day >= 60) ? 1 : 0);
            case Form::zero_based_day:
                return days_since_epoch(year, 1, 1) + day;
            case Form::month_week_weekday: {
                const int64_t first = days_since_epoch(year, unsigned(month), 1);
                const int first_weekday =
                    int(std::chrono::weekday{std::chrono::sys_days{std::chrono::days{first}}}.c_encoding());
                int64_t result = first + (day - first_weekday + 7) % 7 + int64_t(week - 1) * 7;
                const int64_t next_month =
                    month == 12 ? days_since_epoch(year + 1, 1, 1) : days_since_epoch(year, unsigned(month + 1), 1);
                while (result >= next_month) result -= 7;
                return result;
            }
        }
        return 0;
    }
};

// The footer of a TZif file, e.g. "CET-1CEST,M3.5.0,M10.5.0/3": the rule after the last listed transition.
struct PosixRule {
    int64_t standard_offset = 0;  // seconds east of UTC
    bool has_daylight_saving = false;
    int64_t daylight_offset = 0;
    PosixDate start;
    PosixDate end;

    int64_t offset_at(int64_t unix_seconds) const {
        if (!has_daylight_saving) return standard_offset;
        const int year = civil_year(unix_seconds + standard_offset);
        const int64_t start_utc = start.day_in(year) * seconds_per_day + start.time - standard_offset;
        const int64_t end_utc = end.day_in(year) * seconds_per_day + end.time - daylight_offset;
        const bool in_daylight_saving = start_utc < end_utc ? (unix_seconds >= start_utc && unix_seconds < end_utc)
                                                            : !(unix_seconds >= end_utc && unix_seconds < start_utc);
        return in_daylight_saving ? daylight_offset : standard_offset;
    }
};

class PosixRuleParser {
  public:
    explicit PosixRuleParser(std::string_view text) : text_(text) {}

    PosixRule parse() {
        PosixRule rule;
        zone_name();
        rule.standard_offset = -signed_time();
        if (at_end()) return rule;
        rule.has_daylight_saving = true;
        zone_name();
        rule.daylight_offset = rule.standard_offset + 3600;
        if (!at_end() && peek() != ',') rule.daylight_offset = -signed_time();
        if (at_end()) {
            // POSIX leaves the default rule implementation-defined; glibc and tzcode use the US rule.
            rule.start = PosixDate{PosixDate::Form::month_week_weekday, 0, 3, 2, 7200};
            rule.end = PosixDate{PosixDate::Form::month_week_weekday, 0, 11, 1, 7200};
            return rule;
        }
        expect(',');
        rule.start = date();
        expect(',');
        rule.end = date();
        if (!at_end()) fail();
        return rule;
    }

  private:
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }
    [[noreturn]] void fail() const { throw std::runtime_error("invalid POSIX TZ rule '" + std::string(text_) + "'"); }
    void expect(char c) {
        if (peek() != c) fail();
        ++pos_;
    }
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    void zone_name() {
        if (peek() == '<') {
            const size_t close = text_.find('>', pos_);
            if (close == std::string_view::npos) fail();
            pos_ = close + 1;
            return;
        }
        const size_t begin = pos_;
        while (!at_end() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z'))) ++pos_;
        if (pos_ - begin < 3) fail();
    }

    int64_t number() {
        if (!is_digit(peek())) fail();
        int64_t value = 0;
        while (is_digit(peek()) && value < 100000) value = value * 10 + (text_[pos_++] - '0');
        return value;
    }

    // [+-]hh[:mm[:ss]] in seconds, sign as written.
    int64_t signed_time() {
        int64_t sign = 1;
        if (peek() == '+' || peek() == '-') sign = text_[pos_++] == '-' ? -1 : 1;
        int64_t seconds = number() * 3600;
        if (peek() == ':') {
            ++pos_;
            seconds += number() * 60;
            if (peek() == ':') {
                ++pos_;
                seconds += number();
            }
        }
        return sign * seconds;
    }

    PosixDate date() {
        PosixDate result;
        if (peek() == 'M') {
            ++pos_;
            result.form = PosixDate::Form::month_week_weekday;
            result.month = int(number());
            expect('.');
            result.week = int(number());
            expect('.');
            result.day = int(number());
            if (result.month < 1 || result.month > 12 || result.week < 1 || result.week > 5 || result.day > 6) fail();
        } else if (peek() == 'J') {
            ++pos_;
            result.form = PosixDate::Form::julian_without_leap_day;
            result.day = int(number());
            if (result.day < 1 || result.day > 365) fail();
        } else {
            result.form = PosixDate::Form::zero_based_day;
            result.day = int(number());
            if (result.day > 365) fail();
        }
        if (peek() == '/') {
            ++pos_;
            result.time = signed_time();
        }
        return result;
    }

    std::string_view text_;
    size_t pos_ = 0;
};

class TzifReader {
  public:
    TzifReader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}

    void read(std::vector<int64_t>& transitions, std::vector<uint8_t>& type_indices, std::vector<int64_t>& type_offsets,
              std::optional<PosixRule>& footer) {
        Header header = read_header(0);
        size_t pos = 44;
        int time_size = 4;
        if (header.version >= '2') {
            // Skip the 32-bit block: the 64-bit one that follows covers all times.
            pos += header.block_size(4);
            header = read_header(pos);
            pos += 44;
            time_size = 8;
        }
        need(pos + header.block_size(time_size));
        transitions.resize(header.time_count);
        for (uint32_t i = 0; i < header.time_count; ++i) {
            transitions[i] = time_size == 8 ? int64_t(big_endian(pos, 8)) : int64_t(int32_t(big_endian(pos, 4)));
            pos += size_t(time_size);
        }
        type_indices.resize(header.time_count);
        for (uint32_t i = 0; i < header.time_count; ++i) {
            type_indices[i] = uint8_t(bytes_[pos++]);
            if (type_indices[i] >= header.type_count) fail();
        }
        type_offsets.resize(header.type_count);
        for (uint32_t i = 0; i < header.type_count; ++i) {
            type_offsets[i] = int64_t(int32_t(big_endian(pos, 4)));
            pos += 6;
        }
        pos += header.block_size(time_size) - header.time_count * (size_t(time_size) + 1) - header.type_count * 6;
        if (time_size == 8 && pos < bytes_.size() && bytes_[pos] == '\n') {
            const size_t end = bytes_.find('\n', pos + 1);
            if (end == std::string::npos) fail();
            const std::string rule = bytes_.substr(pos + 1, end - pos - 1);
            if (!rule.empty()) footer = PosixRuleParser(rule).parse();
        }
    }

  private:
    struct Header {
        char version = 0;
        uint32_t utc_indicator_count = 0, standard_indicator_count = 0, leap_count = 0, time_count = 0, type_count = 0,
                 char_count = 0;
        size_t block_size(int time_size) const {
            return size_t(time_count) * (size_t(time_size) + 1) + size_t(type_count) * 6 + char_count +
                   size_t(leap_count) * (size_t(time_size) + 4) + standard_indicator_count + utc_indicator_count;
        }
    };

    [[noreturn]] void fail() const { throw std::runtime_error("timezone file " + path_ + " is not a valid TZif file"); }
    void need(size_t end) const {
        if (end > bytes_.size()) fail();
    }
    uint64_t big_endian(size_t pos, int width) const {
        need(pos + size_t(width));
        uint64_t value = 0;
        for (int i = 0; i < width; ++i) value = (value << 8) | uint8_t(bytes_[pos + size_t(i)]);
        return value;
    }
    Header read_header(size_t pos) const {
        need(pos + 44);
        if (bytes_.compare(pos, 4, "TZif") != 0) fail();
        Header header;
        header.version = bytes_[pos + 4];
        header.utc_indicator_count = uint32_t(big_endian(pos + 20, 4));
        header.standard_indicator_count = uint32_t(big_endian(pos + 24, 4));
        header.leap_count = uint32_t(big_endian(pos + 28, 4));
        header.time_count = uint32_t(big_endian(pos + 32, 4));
        header.type_count = uint32_t(big_endian(pos + 36, 4));
        header.char_count = uint32_t(big_endian(pos + 40, 4));
        if (header.type_count == 0) fail();
        return header;
    }

    const std::string& bytes_;
    const std::string& path_;
};

bool is_safe_zone_name(const std::string& name) {
    if (name.empty() || name.front() == '/' || name.back() == '/') return false;
    for (const char c : name) {
        const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
                             c == '_' || c == '-' || c == '+' || c == '.';
        if (!allowed) return false;
    }
    std::stringstream segments(name);
    std::string segment;
    while (std::getline(segments, segment, '/')) {
        if (segment.empty() || segment == "." || segment == "..") return false;
    }
    return true;
}

}  // namespace

struct TimeZone::Rules {
    std::vector<int64_t> transitions;   // ascending, UTC seconds
    std::vector<uint8_t> type_indices;  // per transition
    std::vector<int64_t> type_offsets;  // per local time type, seconds east of UTC
    std::optional<PosixRule> footer;
};

TimeZone TimeZone::utc() {
    TimeZone zone;
    zone.name_ = "UTC";
    return zone;
}

TimeZone TimeZone::load(const std::string& name) {
    if (name.empty() || name == "UTC") return utc();
    if (!is_safe_zone_name(name)) throw std::runtime_error("invalid timezone name '" + name + "'");
    const std::string path = std::string(zoneinfo_dir) + "/" + name;
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error("unknown timezone '" + name + "' (no file " + path + ")");
    const std::string bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    auto rules = std::make_shared<Rules>();
    TzifReader(bytes, path).read(rules->transitions, rules->type_indices, rules->type_offsets, rules->footer);
    TimeZone zone;
    zone.name_ = name;
    zone.rules_ = std::move(rules);
    return zone;
}

int64_t TimeZone::utc_offset(int64_t unix_seconds) const {
    if (!rules_) return 0;
    const Rules& rules = *rules_;
    if (rules.transitions.empty() || unix_seconds < rules.transitions.front()) {
        if (rules.transitions.empty() && rules.footer) return rules.footer->offset_at(unix_seconds);
        return rules.type_offsets.front();  // RFC 8536 3.2: time type 0 applies before the first transition
    }
    const auto next = std::upper_bound(rules.transitions.begin(), rules.transitions.end(), unix_seconds);
    if (next == rules.transitions.end() && rules.footer) return rules.footer->offset_at(unix_seconds);
    return rules.type_offsets[rules.type_indices[size_t(next - rules.transitions.begin()) - 1]];
}

}  // namespace backhaul
