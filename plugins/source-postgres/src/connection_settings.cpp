#include "connection_settings.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>

namespace backhaul {
namespace {

// libpq's connect_timeout is whole seconds, and values below 2 are raised to 2 by libpq itself.
std::string timeout_seconds(std::chrono::milliseconds timeout) {
    auto seconds = (timeout.count() + 999) / 1000;
    return std::to_string(seconds < 2 ? 2 : seconds);
}

std::string quote_conninfo_value(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

}  // namespace

std::string ConnectionSettings::endpoint() const {
    if (!host || host->empty()) return "local socket, port " + std::to_string(port);
    // IPv6 literals need brackets to keep the port readable.
    if (host->find(':') != std::string::npos) return "[" + *host + "]:" + std::to_string(port);
    return *host + ":" + std::to_string(port);
}

std::vector<std::pair<std::string, std::string>> ConnectionSettings::libpq_parameters(
    const std::string& database_name) const {
    std::vector<std::pair<std::string, std::string>> params;
    if (host) params.emplace_back("host", *host);
    params.emplace_back("port", std::to_string(port));
    if (user) params.emplace_back("user", *user);
    params.emplace_back("dbname", database_name);
    if (password) params.emplace_back("password", *password);
    if (sslmode) params.emplace_back("sslmode", *sslmode);
    if (sslrootcert) params.emplace_back("sslrootcert", *sslrootcert);
    params.emplace_back("connect_timeout", timeout_seconds(connect_timeout));
    params.emplace_back("application_name", "backhaul");
    return params;
}

std::string ConnectionSettings::conninfo(const std::string& database_name) const {
    std::string text;
    for (const auto& [key, value] : libpq_parameters(database_name)) {
        if (key == "password" || key == "application_name") continue;  // PGPASSWORD and PGAPPNAME carry these
        text += (text.empty() ? "" : " ") + key + "=" + quote_conninfo_value(value);
    }
    return text;
}

std::vector<std::pair<std::string, std::string>> ConnectionSettings::child_environment() const {
    // Child processes inherit almost nothing of our environment (ChildSpec), but the preflight's libpq reads all of
    // libpq's variables (PGSSLCERT, PGSERVICE, PGOPTIONS, ...): the clients get the same ones, or the preflight
    // would check a different connection than pg_dump then makes. libpq itself names them.
    std::vector<std::pair<std::string, std::string>> env;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> defaults(PQconndefaults(), &PQconninfoFree);
    for (const PQconninfoOption* option = defaults.get(); option && option->keyword; ++option) {
        if (!option->envvar) continue;
        std::string_view name(option->envvar);
        if (name == "PGAPPNAME" || (password && name == "PGPASSWORD")) continue;
        if (const char* value = std::getenv(option->envvar)) env.emplace_back(name, value);
    }
    env.emplace_back("PGAPPNAME", "backhaul");
    if (password) env.emplace_back("PGPASSWORD", *password);
    return env;
}

std::string ConnectionSettings::redact(std::string text) const {
    if (!password || password->size() < 4) return text;
    for (size_t at = text.find(*password); at != std::string::npos; at = text.find(*password, at))
        text.replace(at, password->size(), "<redacted>");
    return text;
}

}  // namespace backhaul
