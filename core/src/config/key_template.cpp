#include "config/key_template.hpp"

#include <cstdio>
#include <set>
#include <stdexcept>

namespace backhaul {

namespace {

bool is_variable_name(std::string_view name) {
    if (name.empty()) return false;
    if (!((name.front() >= 'a' && name.front() <= 'z') || name.front() == '_')) return false;
    for (const char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

std::string zero_padded(int64_t value, int width) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%0*lld", width, static_cast<long long>(value));
    return buffer;
}

// Shows control characters as \xNN so an error line stays one printable line.
std::string printable(const std::string& text) {
    std::string result;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            result += escaped;
        } else {
            result.push_back(c);
        }
    }
    return result;
}

// Calendar fields of a local time.
struct LocalTime {
    int64_t epoch_seconds = 0;  // %s is the UTC epoch, independent of the zone
    int year = 0;
    unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
    unsigned day_of_year = 0;  // 1..366
    unsigned iso_weekday = 0;  // 1 = Monday .. 7 = Sunday
    unsigned iso_week = 0;
    int iso_year = 0;
};

LocalTime local_time(std::chrono::system_clock::time_point start, const TimeZone& zone) {
    using namespace std::chrono;
    LocalTime result;
    result.epoch_seconds = floor<seconds>(start).time_since_epoch().count();
    const int64_t local_seconds = result.epoch_seconds + zone.utc_offset(result.epoch_seconds);
    const sys_days day_point{days{local_seconds / 86400 - (local_seconds % 86400 < 0 ? 1 : 0)}};
    const int64_t second_of_day = local_seconds - day_point.time_since_epoch().count() * 86400;
    const year_month_day date{day_point};
    result.year = int(date.year());
    result.month = unsigned(date.month());
    result.day = unsigned(date.day());
    result.hour = unsigned(second_of_day / 3600);
    result.minute = unsigned(second_of_day / 60 % 60);
    result.second = unsigned(second_of_day % 60);
    result.day_of_year = unsigned((day_point - sys_days{date.year() / January / 1}).count() + 1);
    result.iso_weekday = weekday{day_point}.iso_encoding();
    // ISO 8601: a week belongs to the year that holds its Thursday.
    const sys_days thursday = day_point + days{4 - int(result.iso_weekday)};
    const year thursday_year = year_month_day{thursday}.year();
    result.iso_year = int(thursday_year);
    result.iso_week = unsigned((thursday - sys_days{thursday_year / January / 1}).count() / 7 + 1);
    return result;
}

std::string format_field(char field, const LocalTime& time) {
    switch (field) {
        case 'Y':
            return zero_padded(time.year, 4);
        case 'm':
            return zero_padded(time.month, 2);
        case 'd':
            return zero_padded(time.day, 2);
        case 'H':
            return zero_padded(time.hour, 2);
        case 'M':
            return zero_padded(time.minute, 2);
        case 'S':
            return zero_padded(time.second, 2);
        case 'y':
            return zero_padded(((time.year % 100) + 100) % 100, 2);
        case 'j':
            return zero_padded(time.day_of_year, 3);
        case 'u':
            return std::to_string(time.iso_weekday);
        case 'V':
            return zero_padded(time.iso_week, 2);
        case 'G':
            return zero_padded(time.iso_year, 4);
        case 's':
            return std::to_string(time.epoch_seconds);
    }
    throw std::logic_error(std::string("unhandled key template time field %") + field);
}

}  // namespace

void check_object_key(const std::string& key) {
    const auto fail = [&](const std::string& problem) {
        return std::runtime_error("object key '" + printable(key) + "' " + problem);
    };
    if (key.empty()) throw std::runtime_error("object key is empty");
    for (const char c : key) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) throw fail("contains a control character");
    }
    if (key.front() == '/') throw fail("must not start with '/'");
    size_t begin = 0;
    while (true) {
        const size_t slash = key.find('/', begin);
        const std::string_view segment =
            std::string_view(key).substr(begin, slash == std::string::npos ? std::string::npos : slash - begin);
        if (segment.empty()) throw fail("contains an empty path segment");
        if (segment == "." || segment == "..") throw fail("contains a '" + std::string(segment) + "' path segment");
        if (slash == std::string::npos) break;
        begin = slash + 1;
    }
}

KeyTemplate KeyTemplate::parse(std::string_view text, const SourcePosition& where) {
    const auto fail = [&](const std::string& problem) { return ConfigError(where, "key template: " + problem); };
    if (text.empty()) throw fail("must not be empty");
    if (text.front() == '/') throw fail("must not start with '/' (keys are relative to the sink)");
    KeyTemplate result;
    result.text_ = std::string(text);
    const auto append_literal = [&](char c) {
        if (result.parts_.empty() || result.parts_.back().kind != Part::Kind::literal) {
            result.parts_.push_back(Part{Part::Kind::literal, ""});
        }
        result.parts_.back().text.push_back(c);
    };
    const std::string allowed_letters = "YmdHMSyjuVGs";
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 1 == text.size()) throw fail("'%' at the end (write '%%' for a literal '%')");
            const char field = text[++i];
            if (field == '%') {
                append_literal('%');
            } else if (allowed_letters.find(field) != std::string::npos) {
                result.parts_.push_back(Part{Part::Kind::time_field, std::string(1, field)});
            } else {
                throw fail(std::string("unknown time field '%") + field + "' (allowed: " + allowed_time_fields + ")");
            }
        } else if (c == '{') {
            if (i + 1 < text.size() && text[i + 1] == '{') {
                append_literal('{');
                ++i;
                continue;
            }
            const size_t close = text.find('}', i + 1);
            if (close == std::string_view::npos) throw fail("unterminated '{' (write '{{' for a literal brace)");
            const std::string name(text.substr(i + 1, close - i - 1));
            if (!is_variable_name(name)) {
                throw fail("invalid variable name '{" + name + "}' (use lowercase letters, digits and '_')");
            }
            result.parts_.push_back(Part{Part::Kind::variable, name});
            i = close;
        } else if (c == '}') {
            if (i + 1 < text.size() && text[i + 1] == '}') {
                append_literal('}');
                ++i;
                continue;
            }
            throw fail("unmatched '}' (write '}}' for a literal brace)");
        } else {
            append_literal(c);
        }
    }
    // Literal text alone can make every key unsafe ("a//b", "x/../y"); catch that now rather than at run time.
    std::map<std::string, std::string> sample_vars;
    for (const std::string& name : result.variables()) sample_vars[name] = "x";
    try {
        result.render(std::chrono::system_clock::time_point{}, TimeZone::utc(), sample_vars);
    } catch (const std::runtime_error& error) {
        throw fail(std::string("gives an unsafe key: ") + error.what());
    }
    return result;
}

std::vector<std::string> KeyTemplate::variables() const {
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const Part& part : parts_) {
        if (part.kind == Part::Kind::variable && seen.insert(part.text).second) names.push_back(part.text);
    }
    return names;
}

std::string KeyTemplate::render(std::chrono::system_clock::time_point start, const std::string& timezone,
                                const std::map<std::string, std::string>& vars) const {
    return render(start, TimeZone::load(timezone), vars);
}

std::string KeyTemplate::render(std::chrono::system_clock::time_point start, const TimeZone& zone,
                                const std::map<std::string, std::string>& vars) const {
    const LocalTime time = local_time(start, zone);
    std::string key;
    for (const Part& part : parts_) {
        switch (part.kind) {
            case Part::Kind::literal:
                key += part.text;
                break;
            case Part::Kind::time_field:
                key += format_field(part.text.front(), time);
                break;
            case Part::Kind::variable: {
                const auto found = vars.find(part.text);
                if (found == vars.end()) {
                    throw std::runtime_error("key template '" + text_ + "' uses {" + part.text +
                                             "}, but no stage published the variable '" + part.text + "'");
                }
                key += found->second;
                break;
            }
        }
    }
    check_object_key(key);
    return key;
}

namespace {

std::string regex_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

const char* field_pattern(char field) {
    switch (field) {
        case 'Y':
        case 'G':
            return "([0-9]{4})";
        case 'j':
            return "([0-9]{3})";
        case 'u':
            return "([1-7])";
        case 's':
            return "(-?[0-9]+)";
        default:
            return "([0-9]{2})";
    }
}

// Days since 1970-01-01 of a proleptic Gregorian date, or nullopt if the date does not exist.
std::optional<int64_t> days_from_civil(int year, unsigned month, unsigned day) {
    using namespace std::chrono;
    const year_month_day date{std::chrono::year(year), std::chrono::month(month), std::chrono::day(day)};
    if (!date.ok()) return std::nullopt;
    return sys_days(date).time_since_epoch().count();
}

}  // namespace

KeyMatcher::KeyMatcher(const KeyTemplate& key_template, const std::map<std::string, std::string>& known, TimeZone zone)
    : zone_(std::move(zone)) {
    std::string pattern;
    bool prefix_open = true;
    for (const KeyTemplate::Part& part : key_template.parts_) {
        switch (part.kind) {
            case KeyTemplate::Part::Kind::literal:
                pattern += regex_escape(part.text);
                if (prefix_open) prefix_ += part.text;
                break;
            case KeyTemplate::Part::Kind::time_field:
                pattern += field_pattern(part.text.front());
                fields_.push_back(part.text.front());
                prefix_open = false;
                break;
            case KeyTemplate::Part::Kind::variable: {
                auto value = known.find(part.text);
                if (value != known.end()) {
                    pattern += regex_escape(value->second);
                    if (prefix_open) prefix_ += value->second;
                } else {
                    pattern += part.text == "ext" ? "(?:[^/]*)" : "(?:[^/]+)";
                    prefix_open = false;
                }
                break;
            }
        }
    }
    pattern_ = std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
}

std::optional<KeyMatcher::Match> KeyMatcher::match(const std::string& key) const {
    std::smatch groups;
    if (!std::regex_match(key, groups, pattern_)) return std::nullopt;
    std::map<char, int64_t> value;  // the last occurrence of a field wins; they agree in keys we rendered
    for (size_t i = 0; i < fields_.size(); ++i) {
        const std::string text = groups[i + 1].str();
        try {
            value[fields_[i]] = std::stoll(text);
        } catch (const std::exception&) {
            return std::nullopt;  // out of range: not a key we rendered
        }
    }
    Match result;
    auto has = [&](char field) { return value.count(field) != 0; };
    // system_clock counts nanoseconds in 64 bits (years 1678 to 2262): a time outside it cannot be a key we
    // rendered, and converting it would overflow. Such keys are not ours.
    constexpr int64_t kRepresentableSeconds = 9'000'000'000;
    auto at = [&](int64_t unix_seconds) -> std::optional<Match> {
        if (unix_seconds > kRepresentableSeconds || unix_seconds < -kRepresentableSeconds) return std::nullopt;
        result.time = std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
        return result;
    };
    if (has('s')) return at(value['s']);
    std::optional<int64_t> days;
    if ((has('Y') && (value['Y'] < 0 || value['Y'] > 9999)) || (has('G') && (value['G'] < 0 || value['G'] > 9999)))
        return std::nullopt;
    if (has('Y') || has('y')) {
        const int year = has('Y') ? static_cast<int>(value['Y']) : 2000 + static_cast<int>(value['y']);
        if (has('j') && !has('m')) {
            auto first = days_from_civil(year, 1, 1);
            if (!first || value['j'] < 1 || value['j'] > 366) return std::nullopt;
            days = *first + value['j'] - 1;
        } else {
            const auto month = static_cast<unsigned>(has('m') ? value['m'] : 1);
            const auto day = static_cast<unsigned>(has('d') ? value['d'] : 1);
            days = days_from_civil(year, month, day);
            if (!days) return std::nullopt;
        }
    } else if (has('G')) {
        // ISO week date: week 1 is the week holding January 4th.
        auto jan4 = days_from_civil(static_cast<int>(value['G']), 1, 4);
        if (!jan4 || (has('V') && (value['V'] < 1 || value['V'] > 53))) return std::nullopt;
        const int64_t jan4_iso_weekday =
            std::chrono::weekday(std::chrono::sys_days(std::chrono::days(*jan4))).iso_encoding();
        days =
            *jan4 - (jan4_iso_weekday - 1) + ((has('V') ? value['V'] : 1) - 1) * 7 + ((has('u') ? value['u'] : 1) - 1);
    } else {
        return result;  // no date in the key
    }
    const int64_t hour = has('H') ? value['H'] : 0, minute = has('M') ? value['M'] : 0,
                  second = has('S') ? value['S'] : 0;
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    const int64_t local = *days * 86400 + hour * 3600 + minute * 60 + second;
    // Local to UTC: the offset in effect at the resulting instant (two steps settle it except inside a DST gap).
    int64_t utc = local - zone_.utc_offset(local);
    utc = local - zone_.utc_offset(utc);
    return at(utc);
}

}  // namespace backhaul
