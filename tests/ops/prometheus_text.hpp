// A small parser of the Prometheus text exposition format, for tests of --metrics-file. Header-only.
#pragma once

#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace backhaul::testing {

// A strict subset parser of the Prometheus text format (0.0.4): HELP/TYPE comments, then `name{labels} value` samples
// of the declared metric. Returns "name{labels}" -> value; throws std::runtime_error on any malformed line.
inline std::map<std::string, double> parse_prometheus(const std::string& text) {
    static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
    static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
    static const std::regex sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[+-]Inf))");
    if (text.empty() || text.back() != '\n') throw std::runtime_error("text must end with a newline");
    std::map<std::string, double> samples;
    std::string typed;
    std::istringstream lines(text);
    std::smatch m;
    for (std::string line; std::getline(lines, line);) {
        if (std::regex_match(line, m, help)) continue;
        if (std::regex_match(line, m, type)) {
            typed = m[1];
            continue;
        }
        if (!std::regex_match(line, m, sample)) throw std::runtime_error("malformed line: " + line);
        if (m[1] != typed) throw std::runtime_error("sample without its TYPE: " + line);
        std::string name = m[1].str() + m[2].str();
        if (samples.count(name)) throw std::runtime_error("duplicate sample: " + line);
        samples[name] = std::stod(m[7].str());
    }
    return samples;
}

}  // namespace backhaul::testing
