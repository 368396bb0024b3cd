// The sink's object key template, e.g. "%Y/%m/%d/{database}_%Y%m%d%H%M{ext}": strftime-style time fields of the run
// start plus {variables} published by stages. "{{", "}}" and "%%" are literal.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "config/time_zone.hpp"
#include "errors.hpp"

namespace backhaul {

class KeyTemplate {
  public:
    // Only fields that render as digits are allowed, so a time field can never put '/', spaces or locale text in a key.
    static constexpr const char* allowed_time_fields = "%Y %m %d %H %M %S %y %j %u %V %G %s %%";

    // ConfigError at `where` for bad syntax, an unknown time field, an empty template, a leading '/', or literal text
    // that can only give an unsafe key (see check_object_key).
    static KeyTemplate parse(std::string_view text, const SourcePosition& where);

    const std::string& text() const { return text_; }
    // Variable names in order of first use, each once.
    std::vector<std::string> variables() const;

    // `timezone`: "" or "UTC" = UTC, else an IANA name (TimeZone::load; std::runtime_error if unknown). A variable
    // missing from `vars`, or a value that makes the key unsafe, is a std::runtime_error naming it.
    std::string render(std::chrono::system_clock::time_point start, const std::string& timezone,
                       const std::map<std::string, std::string>& vars) const;
    std::string render(std::chrono::system_clock::time_point start, const TimeZone& zone,
                       const std::map<std::string, std::string>& vars) const;

  private:
    friend class KeyMatcher;
    struct Part {
        enum class Kind { literal, time_field, variable } kind;
        std::string text;  // literal text, the field letter, or the variable name
    };

    std::string text_;
    std::vector<Part> parts_;
};

// Recognises the keys a template can produce, for `list`, `verify --latest` and retention: only those keys belong to
// the pipeline, whatever else shares the sink. Time fields match their digits, variables given in `known` (e.g.
// {pipeline}) match their value literally, {ext} matches any text without '/', and other variables one or more
// characters without '/'.
class KeyMatcher {
  public:
    KeyMatcher(const KeyTemplate& key_template, const std::map<std::string, std::string>& known, TimeZone zone);

    struct Match {
        // The run's start time as the key's time fields give it (in the matcher's zone; missing finer fields count
        // as zero), or nullopt when the template has no year (%Y, %y, %G) and no %s.
        std::optional<std::chrono::system_clock::time_point> time;
    };
    // nullopt if the template cannot have produced `key` (including impossible dates such as month 13).
    std::optional<Match> match(const std::string& key) const;
    // The literal beginning every such key shares: the prefix to list.
    const std::string& prefix() const { return prefix_; }

  private:
    std::regex pattern_;
    std::vector<char> fields_;  // the time field letter of each capture group, in order
    std::string prefix_;
    TimeZone zone_;
};

// Throws std::runtime_error unless `key` is a safe relative object key: not empty, no leading '/', no empty, "." or
// ".." segments, no NUL or other control characters. Sinks map keys to paths, so this is what keeps a backup inside
// its destination whatever a plugin publishes.
void check_object_key(const std::string& key);

}  // namespace backhaul
