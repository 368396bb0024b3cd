#include <algorithm>
#include <backhaul/sdk.hpp>
#include <backhaul/support/aws/shared_config.hpp>
#include <backhaul/support/crypto/secure_memory.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace backhaul::aws {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

[[noreturn]] void malformed(const std::string& path, int line, const std::string& message) {
    throw Error(Status::fatal, path + ":" + std::to_string(line) + ": " + message);
}

}  // namespace

const std::string* IniSection::find(std::string_view key) const {
    for (const auto& [name, value] : values)
        if (name == key) return &value;
    return nullptr;
}

IniFile::~IniFile() {
    for (IniSection& section : sections)
        for (auto& entry : section.values) crypto::wipe(entry.second);
}

const IniSection* IniFile::section(std::string_view name) const {
    for (const IniSection& s : sections)
        if (s.name == name) return &s;
    return nullptr;
}

IniFile parse_ini(std::string_view text, const std::string& path) {
    IniFile file;
    file.path = path;
    IniSection* section = nullptr;
    // The key of the last key line, while the lines indented under it are its sub-properties.
    std::optional<std::string> parent;
    int number = 0;
    while (!text.empty()) {
        ++number;
        const size_t end = text.find('\n');
        std::string_view raw = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;

        if (is_space(raw.front())) {
            // configparser would append the line to the previous value; AWS files use indentation only for the
            // sub-properties of a key with an empty value (`s3 =`). Anything else is a mistake worth naming.
            if (!parent) malformed(path, number, "indented line continues no key; remove the indentation");
            if (line.find_first_of("=:") == std::string_view::npos)
                malformed(path, number, "expected 'name = value' under '" + *parent + "'");
            continue;
        }
        parent.reset();

        if (line.front() == '[') {
            const size_t close = line.find(']');
            if (close == std::string_view::npos) malformed(path, number, "section header without ']'");
            const std::string_view rest = trim(line.substr(close + 1));
            if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
                malformed(path, number, "unexpected text after the section header's ']'");
            const std::string name(trim(line.substr(1, close - 1)));
            if (name.empty()) malformed(path, number, "empty section name '[]'");
            if (file.section(name))
                malformed(path, number,
                          "section [" + name + "] appears twice (first at line " +
                              std::to_string(file.section(name)->line) + ")");
            file.sections.push_back(IniSection{name, number, {}});
            section = &file.sections.back();
            continue;
        }

        const size_t separator = line.find_first_of("=:");
        if (separator == std::string_view::npos) malformed(path, number, "expected '[section]' or 'name = value'");
        const std::string key = lower(trim(line.substr(0, separator)));
        if (key.empty()) malformed(path, number, "a value without a name");
        if (!section) malformed(path, number, "'" + key + "' comes before any [section]");
        if (section->find(key))
            malformed(path, number, "'" + key + "' appears twice in section [" + section->name + "]");
        std::string value(trim(line.substr(separator + 1)));
        if (value.empty()) parent = key;
        section->values.emplace_back(key, std::move(value));
    }
    return file;
}

std::optional<IniFile> read_ini_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return std::nullopt;
        throw Error(Status::fatal, "cannot read " + path + ": " + std::strerror(errno));
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        crypto::wipe(text);
        throw Error(Status::fatal, "cannot read " + path);
    }
    try {
        IniFile file = parse_ini(text, path);
        crypto::wipe(text);
        return file;
    } catch (...) {
        crypto::wipe(text);
        throw;
    }
}

const IniSection* config_profile(const IniFile& config, std::string_view name) {
    for (const IniSection& s : config.sections) {
        // "profile   prod" as the AWS CLI splits it: the word, then whitespace, then the name.
        if (s.name.size() > 7 && s.name.compare(0, 7, "profile") == 0 && is_space(s.name[7]) &&
            trim(std::string_view(s.name).substr(8)) == name)
            return &s;
    }
    return name == "default" ? config.section("default") : nullptr;
}

}  // namespace backhaul::aws
