#include "connection_settings.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace backhaul {
namespace {

// libpq's connect_timeout is whole seconds, and values below 2 are raised to 2 by libpq itself.
std::string timeout_seconds(std::chrono::milliseconds timeout) {
    auto seconds = (timeout.count() + 999) / 1000;
    return std::to_string(seconds < 2 ? 2 : seconds);
}

// libpq's environment variable for each keyword libpq_parameters uses (libpq documents them, section "Environment
// Variables"). Fixed here rather than looked up in PQconndefaults(): that returns nothing when a service file does not
// parse, and the configured settings must reach the clients regardless.
constexpr std::pair<std::string_view, std::string_view> kVariableOf[] = {
    {"host", "PGHOST"},
    {"port", "PGPORT"},
    {"user", "PGUSER"},
    {"dbname", "PGDATABASE"},
    {"password", "PGPASSWORD"},
    {"sslmode", "PGSSLMODE"},
    {"sslrootcert", "PGSSLROOTCERT"},
    {"connect_timeout", "PGCONNECT_TIMEOUT"},
    {"application_name", "PGAPPNAME"},
};

std::string_view variable_of(std::string_view keyword) {
    for (const auto& [key, variable] : kVariableOf)
        if (key == keyword) return variable;
    throw std::logic_error("no libpq environment variable for '" + std::string(keyword) + "'");
}

using ConnInfo = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

// libpq's view of every parameter nobody configured: a service's settings (PGSERVICE) first, then its environment
// variables, then its compiled-in defaults. A service it cannot read is left out here; connecting reports it.
ConnInfo libpq_defaults() { return ConnInfo(PQconndefaults(), &PQconninfoFree); }

std::optional<std::string> default_of(const ConnInfo& defaults, std::string_view keyword) {
    for (const PQconninfoOption* option = defaults.get(); option && option->keyword; ++option)
        if (keyword == option->keyword && option->val && *option->val) return std::string(option->val);
    return std::nullopt;
}

}  // namespace

std::string ConnectionSettings::configured_endpoint() const {
    const bool has_host = host && !host->empty();
    if (has_host && port) return Endpoint{*host, std::to_string(*port), {}, {}}.text();
    if (has_host) return *host;
    if (port) return "port " + std::to_string(*port);
    return "libpq's default server";
}

std::string ConnectionSettings::default_database() const {
    if (database) return *database;
    ConnInfo defaults = libpq_defaults();
    if (std::optional<std::string> name = default_of(defaults, "dbname")) return *name;
    if (user) return *user;
    return default_of(defaults, "user").value_or("");
}

std::vector<std::pair<std::string, std::string>> ConnectionSettings::libpq_parameters(
    const std::optional<std::string>& database_name) const {
    std::vector<std::pair<std::string, std::string>> params;
    if (host) params.emplace_back("host", *host);
    if (port) params.emplace_back("port", std::to_string(*port));
    if (user) params.emplace_back("user", *user);
    if (const std::optional<std::string>& name = database_name ? database_name : database)
        params.emplace_back("dbname", *name);
    if (password) params.emplace_back("password", *password);
    if (sslmode) params.emplace_back("sslmode", *sslmode);
    if (sslrootcert) params.emplace_back("sslrootcert", *sslrootcert);
    params.emplace_back("connect_timeout", timeout_seconds(connect_timeout));
    params.emplace_back("application_name", "backhaul");
    return params;
}

std::vector<std::pair<std::string, std::string>> ConnectionSettings::child_environment(
    const std::optional<std::string>& database_name) const {
    std::vector<std::pair<std::string, std::string>> env;
    for (const auto& [key, value] : libpq_parameters(database_name)) env.emplace_back(variable_of(key), value);
    auto set_by_us = [&env](std::string_view name) {
        for (const auto& [set_name, value] : env)
            if (set_name == name) return true;
        return false;
    };
    // Child processes inherit almost nothing of our environment (ChildSpec), but the preflight's libpq reads all of
    // libpq's variables (PGSSLCERT, PGOPTIONS, PGPASSWORD without option 'password', ...): the clients get the same
    // ones, or the preflight would check a different connection than pg_dump then makes. libpq itself names them.
    // A service (PGSERVICE) is the exception: libpq lets a service's settings beat environment variables, so passed on
    // it would override the configured host, user, ... that the preflight used. PQconndefaults() applies the service
    // the way libpq does for every parameter not configured (service, then environment, then default): the clients
    // get that result instead of the service. An option left out (port, user, database, ...) is one of these: the
    // clients then use the same PGPORT, PGUSER, PGDATABASE, ... as the preflight.
    const bool service = std::getenv("PGSERVICE") != nullptr;
    ConnInfo defaults = libpq_defaults();
    for (const PQconninfoOption* option = defaults.get(); option && option->keyword; ++option) {
        if (!option->envvar || set_by_us(option->envvar)) continue;
        std::string_view name(option->envvar);
        const char* value = service ? option->val : std::getenv(option->envvar);
        if (service && name == "PGSERVICE") continue;
        if (value) env.emplace_back(name, value);
    }
    return env;
}

std::string Endpoint::text() const {
    if (is_socket()) {
        // As psql names it: the socket file, whose name carries the port.
        std::string dir = host.empty() ? "the default socket directory" : host;
        return "socket " + dir + "/.s.PGSQL." + port;
    }
    // IPv6 literals need brackets to keep the port readable.
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
    return host + ":" + port;
}

std::string ConnectionSettings::redact(std::string text) const {
    if (!password || password->size() < 4) return text;
    for (size_t at = text.find(*password); at != std::string::npos; at = text.find(*password, at))
        text.replace(at, password->size(), "<redacted>");
    return text;
}

}  // namespace backhaul
