// The error types of the core and the exit code each one maps to (README: "Exit codes").
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace backhaul {

enum class ExitCode : int {
    success = 0,
    run_failed = 1,    // a backup, restore or verify failed; nothing was committed
    usage = 2,         // bad command line or invalid pipeline file
    plugin_load = 3,   // a plugin could not be loaded
    locked = 4,        // another run holds this pipeline's lock
};

// A position in a pipeline file, 1-based as toml++ reports it. line == 0 means "the file as a whole".
struct SourcePosition {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;

    // "FILE:LINE:COL" (or "FILE" when line is 0).
    std::string to_string() const;
};

// Invalid pipeline file: what() is the one-line "FILE:LINE:COL: message".
class ConfigError : public std::runtime_error {
public:
    ConfigError(SourcePosition where, const std::string& message);
    const SourcePosition& where() const { return where_; }
    const std::string& message() const { return message_; }

private:
    SourcePosition where_;
    std::string message_;
};

// Bad command line.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A plugin file that cannot be used: what() is one line naming the file.
class PluginLoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A run that failed: what() is one line "stage (plugin): message", already scrubbed of secrets.
class RunError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace backhaul
