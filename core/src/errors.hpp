// The error types of the core and the exit code each one maps to (README: "Exit codes").
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace backhaul {

enum class ExitCode : int {
    success = 0,
    run_failed = 1,   // a backup, restore or verify failed; nothing was committed
    usage = 2,        // bad command line or invalid pipeline file
    plugin_load = 3,  // a plugin could not be loaded
    locked = 4,       // another run holds this pipeline's lock
};

// A position in a pipeline file, 1-based as toml++ reports it. line == 0 means "the file as a whole".
struct SourcePosition {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;

    // "FILE:LINE:COL" (or "FILE" when line is 0).
    std::string to_string() const;
};

// One problem of a pipeline file.
struct ConfigProblem {
    SourcePosition where;
    std::string message;

    // "FILE:LINE:COL: message".
    std::string line() const;
};

// Invalid pipeline file: one or more problems in file order; what() is one "FILE:LINE:COL: message" line per
// problem, joined by '\n'. where() and message() are the first problem's.
class ConfigError : public std::runtime_error {
  public:
    ConfigError(SourcePosition where, const std::string& message);
    // `problems` must not be empty; they are sorted into file order (a problem about the whole file first).
    explicit ConfigError(std::vector<ConfigProblem> problems);
    const SourcePosition& where() const { return problems_.front().where; }
    const std::string& message() const { return problems_.front().message; }
    const std::vector<ConfigProblem>& problems() const { return problems_; }

  private:
    std::vector<ConfigProblem> problems_;
};

// Collects the problems of a file so that one run of `validate` reports all of them, not only the first.
class ConfigProblems {
  public:
    void add(SourcePosition where, std::string message) { problems_.push_back({std::move(where), std::move(message)}); }
    void add(const ConfigError& error) {
        problems_.insert(problems_.end(), error.problems().begin(), error.problems().end());
    }
    // Runs `step`; a ConfigError it throws is recorded instead. Returns whether it succeeded.
    template <class Step>
    bool attempt(Step&& step) {
        try {
            step();
            return true;
        } catch (const ConfigError& error) {
            add(error);
            return false;
        }
    }
    bool empty() const { return problems_.empty(); }
    const std::vector<ConfigProblem>& list() const { return problems_; }
    // Throws one ConfigError holding every problem so far, if there is any.
    void throw_if_any() const {
        if (!problems_.empty()) throw ConfigError(problems_);
    }

  private:
    std::vector<ConfigProblem> problems_;
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
