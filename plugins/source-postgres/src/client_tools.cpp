#include "client_tools.hpp"

#include <unistd.h>

#include <algorithm>
#include <backhaul/sdk.hpp>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace backhaul {
namespace {

namespace fs = std::filesystem;

bool is_executable(const fs::path& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// <root>/<major>/bin/<tool> for every installed major, newest first.
std::vector<fs::path> installed(const std::string& tool, const fs::path& root) {
    std::vector<std::pair<double, fs::path>> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        char* end = nullptr;
        double major = std::strtod(name.c_str(), &end);  // "15", "9.6"
        if (name.empty() || *end != '\0') continue;
        fs::path program = entry.path() / "bin" / tool;
        if (is_executable(program)) found.emplace_back(major, program);
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<fs::path> paths;
    for (auto& [major, path] : found) paths.push_back(std::move(path));
    return paths;
}

std::optional<fs::path> in_path(const std::string& tool) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        fs::path dir = dirs.substr(start, end - start);
        if (dir.empty()) dir = ".";
        if (is_executable(dir / tool)) return dir / tool;
        start = end + 1;
    }
    return std::nullopt;
}

Error too_old(const ClientTool& tool, PgVersion server) {
    return Error(Status::fatal, "pg_dump " + tool.version.text() + " (" + tool.path + ") is older than the server (" +
                                    "PostgreSQL " + server.text() + ") and cannot dump it: install postgresql-client-" +
                                    server.major_text() + " or newer (https://www.postgresql.org/download/), or set " +
                                    "option 'pg_dump' to a pg_dump of version " + server.major_text() + " or newer");
}

}  // namespace

std::string PgVersion::major_text() const {
    return number >= 100000 ? std::to_string(number / 10000)
                            : std::to_string(number / 10000) + "." + std::to_string(number / 100 % 100);
}

std::string PgVersion::text() const {
    if (number >= 100000) return std::to_string(number / 10000) + "." + std::to_string(number % 10000);
    return major_text() + "." + std::to_string(number % 100);
}

std::optional<PgVersion> PgVersion::parse_version_output(const std::string& output) {
    // The first "<digits>[.<digits>[.<digits>]]" after the program name; text after it (beta, Debian) is ignored.
    size_t at = output.find(')');
    at = output.find_first_of("0123456789", at == std::string::npos ? 0 : at);
    if (at == std::string::npos) return std::nullopt;
    int parts[3] = {0, 0, 0};
    int count = 0;
    while (count < 3 && at < output.size() && std::isdigit(static_cast<unsigned char>(output[at]))) {
        int value = 0;
        while (at < output.size() && std::isdigit(static_cast<unsigned char>(output[at])))
            value = value * 10 + (output[at++] - '0');
        parts[count++] = value;
        if (at < output.size() && output[at] == '.')
            ++at;
        else
            break;
    }
    PgVersion version;
    version.number = parts[0] >= 10 ? parts[0] * 10000 + parts[1] : parts[0] * 10000 + parts[1] * 100 + parts[2];
    return version;
}

ClientTool probe_client(const std::string& path) {
    ChildSpec spec;
    spec.argv = {path, "--version"};
    ChildProcess child(std::move(spec));
    auto never = [] { return false; };  // `--version` answers at once; a stuck one is killed by the destructor
    std::string output;
    uint8_t buffer[4096];
    for (size_t n; (n = child.read_stdout(buffer, never)) > 0 && output.size() < 65536;)
        output.append(reinterpret_cast<const char*>(buffer), n);
    ExitStatus status = child.wait(never);
    std::optional<PgVersion> version = PgVersion::parse_version_output(output);
    if (!status.success() || !version)
        throw Error(Status::fatal, "cannot determine the version of '" + path + "': " +
                                       (status.success() ? "'--version' printed no version" : child.describe(status)));
    return {path, *version};
}

ClientTool select_pg_dump(PgVersion server, const std::optional<std::string>& configured, const fs::path& root) {
    std::optional<ClientTool> newest;
    if (configured) {
        newest = probe_client(*configured);
    } else {
        std::vector<fs::path> candidates = installed("pg_dump", root);
        if (!candidates.empty()) newest = probe_client(candidates.front().string());
        if (!newest || newest->version.major() < server.major()) {
            if (std::optional<fs::path> from_path = in_path("pg_dump")) {
                ClientTool other = probe_client(from_path->string());
                if (!newest || other.version.number > newest->version.number) newest = other;
            }
        }
    }
    if (!newest)
        throw Error(Status::fatal, "pg_dump not found in " + (root / "*/bin").string() + " or PATH: install " +
                                       "postgresql-client-" + server.major_text() +
                                       " or newer, or set option 'pg_dump'");
    if (newest->version.major() < server.major()) throw too_old(*newest, server);
    return *newest;
}

std::string locate_client(const std::string& tool, const std::optional<std::string>& configured_pg_dump,
                          const fs::path& root) {
    if (configured_pg_dump) {
        fs::path configured(*configured_pg_dump);
        return configured.has_parent_path() ? (configured.parent_path() / tool).string() : tool;
    }
    std::vector<fs::path> candidates = installed(tool, root);
    return candidates.empty() ? tool : candidates.front().string();
}

std::string describe_client_exit(const std::string& name, const ExitStatus& status, const std::string& tail) {
    std::string text = name;
    if (status.exited) {
        text += " exited with status " + std::to_string(status.code);
    } else {
        const char* signal_name = sigabbrev_np(status.signal);
        text += " was killed by signal " + std::to_string(status.signal) +
                (signal_name ? " (SIG" + std::string(signal_name) + ")" : std::string());
    }
    return tail.empty() ? text : text + ": " + tail;
}

}  // namespace backhaul
