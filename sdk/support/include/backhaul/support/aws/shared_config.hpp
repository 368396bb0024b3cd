// The AWS shared configuration files, ~/.aws/credentials and ~/.aws/config, read as the AWS CLI (botocore's
// configparser) reads them: `[section]` headers, `key = value` (or `key: value`) lines, whole-line comments starting
// with '#' or ';', keys lower-cased, keys and values trimmed, section names case-sensitive. Indented lines under a
// key with an empty value are that key's sub-properties (`s3 =` then `  max_concurrent_requests = 10`), kept apart
// so they never pass for a profile's own keys.
//
// Strict where configparser is strict (a duplicate section or key, a line before any section, a line that is
// neither) and stricter where it is lax (text after a section's `]` other than a comment, an indented line that
// continues a value): each is an error "PATH:LINE: what is wrong", never a guess.
//
// Hand-written because the Debian-packaged candidate, Boost.PropertyTree's ini_parser (libboost-dev), reads a
// different dialect: no ':' separator, indented sub-properties flattened into the section (so `s3 =` blocks in
// ~/.aws/config become duplicate or stray profile keys), trailing text after `]` silently dropped, and '.' in a
// section name (`[profile prod.eu]`) taken as a path separator by its lookups.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backhaul::aws {

struct IniSection {
    std::string name;  // between the brackets, trimmed: "default", "profile prod"
    int line = 0;
    std::vector<std::pair<std::string, std::string>> values;  // lower-case key, trimmed value; sub-properties left out

    const std::string* find(std::string_view key) const;
};

struct IniFile {
    std::string path;
    std::vector<IniSection> sections;

    IniFile() = default;
    IniFile(const IniFile&) = default;
    IniFile(IniFile&&) = default;
    IniFile& operator=(const IniFile&) = default;
    IniFile& operator=(IniFile&&) = default;
    ~IniFile();  // wipes the values: the credentials file holds secret keys

    const IniSection* section(std::string_view name) const;
};

// Parses `text` read from `path` (named in errors). Throws backhaul::Error(fatal) "PATH:LINE: message".
IniFile parse_ini(std::string_view text, const std::string& path);

// Reads and parses `path`; nullopt when it does not exist. Throws backhaul::Error(fatal) when it exists but cannot
// be read, or is malformed.
std::optional<IniFile> read_ini_file(const std::string& path);

// The section of profile `name` in a config file: `[profile NAME]`, and for "default" also `[default]` (AWS CLI).
const IniSection* config_profile(const IniFile& config, std::string_view name);

}  // namespace backhaul::aws
