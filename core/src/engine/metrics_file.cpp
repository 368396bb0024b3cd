#include "engine/metrics_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace backhaul {
namespace {

std::string label_value(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", value);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

double unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

std::string metrics_text(const RunOutcome& outcome, std::optional<double> previous_success) {
    const std::string labels = "{pipeline=\"" + label_value(outcome.pipeline) + "\"}";
    std::string out;
    auto gauge = [&](const char* name, const char* help, const std::string& value) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + labels + " " +
               value + "\n";
    };
    gauge("backhaul_last_run_timestamp_seconds", "When the last run of the pipeline ended (Unix time).",
          number(unix_seconds(outcome.finished)));
    gauge("backhaul_last_run_success", "1 if the last run succeeded, else 0.", outcome.success ? "1" : "0");
    gauge("backhaul_last_run_duration_seconds", "How long the last run took.",
          number(static_cast<double>(outcome.duration_ms()) / 1000.0));
    gauge("backhaul_last_run_raw_bytes", "Bytes the source produced in the last run.",
          std::to_string(outcome.raw_bytes));
    gauge("backhaul_last_run_stored_bytes", "Bytes the sink stored in the last run.",
          std::to_string(outcome.stored_bytes));
    gauge("backhaul_last_run_streams", "Streams of the last run's backup: 1, or the streams of a set (docs/sets.md).",
          std::to_string(outcome.stream_count));
    gauge("backhaul_last_run_shrunken",
          "1 if the last run's backup is shrunken (raw size below shrink_threshold of the previous good one).",
          outcome.shrunken ? "1" : "0");
    gauge("backhaul_untouched_objects",
          "Objects under the key template that retention never deletes by itself (incomplete, without manifest, or "
          "another pipeline's), as listed by the last run.",
          std::to_string(outcome.untouched_objects));
    // One series per sink the run got to: which copies exist (docs/sets.md, "Several sinks").
    if (!outcome.complete_sinks.empty() || !outcome.failed_sinks.empty()) {
        out +=
            "# HELP backhaul_last_run_sink_complete 1 if the sink holds a complete copy of the last run's backup, "
            "else 0.\n# TYPE backhaul_last_run_sink_complete gauge\n";
        auto series = [&](const std::string& sink, const char* value) {
            out += "backhaul_last_run_sink_complete{pipeline=\"" + label_value(outcome.pipeline) + "\",sink=\"" +
                   label_value(sink) + "\"} " + value + "\n";
        };
        for (const std::string& sink : outcome.complete_sinks) series(sink, "1");
        for (const std::string& sink : outcome.failed_sinks) series(sink, "0");
    }
    double success = outcome.backup_complete ? unix_seconds(outcome.finished) : previous_success.value_or(0);
    gauge("backhaul_last_success_timestamp_seconds",
          "When the last run that stored a complete backup ended (Unix time; 0 = never).", number(success));
    return out;
}

std::optional<double> previous_success_timestamp(const std::string& text, const std::string& pipeline) {
    const std::string prefix = "backhaul_last_success_timestamp_seconds{pipeline=\"" + label_value(pipeline) + "\"} ";
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(prefix, 0) != 0) continue;
        try {
            size_t used = 0;
            std::string value = line.substr(prefix.size());
            double v = std::stod(value, &used);
            if (used == value.size()) return v;
        } catch (const std::exception&) {
        }
    }
    return std::nullopt;
}

void write_metrics_file(const std::filesystem::path& path, const RunOutcome& outcome) {
    std::optional<double> previous;
    if (std::ifstream in(path, std::ios::binary); in) {
        std::stringstream text;
        text << in.rdbuf();
        previous = previous_success_timestamp(text.str(), outcome.pipeline);
    }
    const std::string text = metrics_text(outcome, previous);
    std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    // Hidden and without the .prom suffix: the textfile collector skips it until the rename.
    std::string temp = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
    int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("metrics file: cannot create '" + temp + "': " + std::strerror(errno));
    int error = ::fchmod(fd, 0644) == 0 ? 0 : errno;
    for (size_t done = 0; error == 0 && done < text.size();) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            error = errno;
        else
            done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error == 0 && ::rename(temp.c_str(), path.c_str()) != 0) error = errno;
    if (error == 0) return;
    ::unlink(temp.c_str());
    throw std::runtime_error("metrics file: cannot write '" + path.string() + "': " + std::strerror(error));
}

}  // namespace backhaul
