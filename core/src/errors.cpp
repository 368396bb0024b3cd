#include "errors.hpp"

#include <algorithm>
#include <utility>

namespace backhaul {

std::string SourcePosition::to_string() const {
    if (line == 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigProblem::line() const { return where.to_string() + ": " + message; }

namespace {

std::vector<ConfigProblem> in_file_order(std::vector<ConfigProblem> problems) {
    std::stable_sort(problems.begin(), problems.end(), [](const ConfigProblem& a, const ConfigProblem& b) {
        return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
    });
    // The same problem found twice (e.g. one value checked by two steps) is reported once.
    problems.erase(std::unique(problems.begin(), problems.end(),
                               [](const ConfigProblem& a, const ConfigProblem& b) { return a.line() == b.line(); }),
                   problems.end());
    return problems;
}

std::string joined(const std::vector<ConfigProblem>& problems) {
    std::string text;
    for (const ConfigProblem& problem : problems) text += (text.empty() ? "" : "\n") + problem.line();
    return text;
}

}  // namespace

ConfigError::ConfigError(SourcePosition where, const std::string& message)
    : ConfigError(std::vector<ConfigProblem>{{std::move(where), message}}) {}

ConfigError::ConfigError(std::vector<ConfigProblem> problems)
    : std::runtime_error(joined(in_file_order(problems))), problems_(in_file_order(std::move(problems))) {
    if (problems_.empty()) throw std::logic_error("ConfigError without a problem");
}

}  // namespace backhaul
