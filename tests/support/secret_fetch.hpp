// Creates a secret plugin instance through the adapter and fetches it once, collecting every field it emits.
// Header-only, on top of plugin_harness.hpp, for the tests of secret-* plugins.
//
//   backhaul::harness::SecretFetch r = backhaul::harness::fetch_secret(plugin, {{"path", "/etc/db.secret"}});
//   ASSERT_EQ(r.status, BH_OK) << r.error;
#pragma once

#include <map>
#include <string>

#include "plugin_harness.hpp"

namespace backhaul::harness {

struct SecretFetch {
    bh_status status = BH_FATAL;  // of create if that failed, else of fetch
    std::map<std::string, std::string> fields;
    std::string error;  // the plugin's set_error message when status is not BH_OK
    std::string log;    // every line the plugin logged, one per line
};

inline SecretFetch fetch_secret(const Plugin& plugin, const OptionList& options) {
    Instance instance(plugin, options);
    SecretFetch result;
    result.status = instance.create_status();
    if (result.status == BH_OK) {
        result.status = status_of([&] {
            instance.handle().fetch([&](std::string_view name, std::string_view value) {
                result.fields[std::string(name)] = std::string(value);
            });
        });
    }
    if (result.status != BH_OK) result.error = instance.last_error();
    for (const LogLine& line : instance.host().log()) result.log += line.message + "\n";
    return result;
}

}  // namespace backhaul::harness
