// secret-env: secret fields read from environment variables, for operators without a secret manager. Each field maps
// to one variable; the value never passes through the pipeline file, and the core scrubs it from every log line.
#include <algorithm>
#include <backhaul/sdk.hpp>
#include <cctype>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace backhaul {
namespace {

constexpr bh_option_spec kOptions[] = {
    {"fields", BH_OPT_TABLE, BH_OPT_REQUIRED, nullptr, nullptr,
     "Field name = environment variable, e.g. { password = \"DB_PASSWORD\" } gives ${secret:ID.password}."},
    {"allow_empty", BH_OPT_BOOL, 0, "false", nullptr,
     "Accept a variable that is set but empty (by default that is an error, as it usually means a missing export)."},
};

bool valid_variable_name(const std::string& name) {
    return !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
           std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// Checked by the host before create (and by `backhaul validate`).
constexpr bh_option_limits kLimits[] = {
    {"fields", BH_LIMIT_MIN, 1, 0},
};

class EnvSecret : public SecretProvider {
  public:
    static void validate(const Options& options, Problems& problems) {
        if (!options.known("fields")) return;
        for (const auto& [field, variable] : options.table("fields")) {
            if (field.empty()) problems.add("fields", "has an empty field name");
            if (!valid_variable_name(variable))
                problems.add("fields", "field '" + field + "': '" + variable +
                                           "' is not an environment variable name (letters, digits, '_', not "
                                           "starting with a digit)");
        }
    }

    EnvSecret(Host host, const Options& options)
        : host_(host), allow_empty_(options.boolean("allow_empty")), fields_(options.table("fields")) {}

    // Read at fetch time, not in the constructor: create() does no I/O, and the run sees the environment it starts in.
    void fetch(const FieldSink& emit) override {
        for (const auto& [field, variable] : fields_) {
            const char* value = std::getenv(variable.c_str());
            if (!value)
                throw Error(Status::fatal, "environment variable " + variable + " (field '" + field + "') is not set");
            if (!*value && !allow_empty_)
                throw Error(Status::fatal, "environment variable " + variable + " (field '" + field +
                                               "') is empty; set allow_empty = true if that is intended");
            emit(field, value);
        }
        host_.debug("read " + std::to_string(fields_.size()) + " field(s) from the environment");
    }

  private:
    Host host_;
    bool allow_empty_;
    std::vector<std::pair<std::string, std::string>> fields_;
};

constexpr PluginInfo kInfo{
    .name = "secret-env",
    .version = "0.1.0",
    .description = "Secret fields from environment variables",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::EnvSecret, backhaul::kInfo);
