// Fuzz target: bytes as a pipeline file through everything the core does with it before any plugin runs. Parse
// (toml++ and the shape checks), bind every stage's options against one option table holding every option type
// (interpolation of ${env:...}/${secret:...} included), then parse and render the key template and check that the
// KeyMatcher recognises the key it rendered: `list`, `verify --latest` and retention depend on that round trip.
#include <backhaul/plugin_abi.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/interpolation.hpp"
#include "config/key_template.hpp"
#include "config/option_binding.hpp"
#include "config/pipeline_spec.hpp"
#include "config/time_zone.hpp"
#include "errors.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace backhaul;

const char* const format_values[] = {"plain", "custom", "directory", nullptr};

// Names follow the real plugins' options so seeds taken from examples/ and tests bind without an "unknown option".
const bh_option_spec option_table[] = {
    {"command", BH_OPT_LIST, 0, "[]", nullptr, "argv"},
    {"restore_command", BH_OPT_LIST, 0, nullptr, nullptr, "argv"},
    {"level", BH_OPT_INT, 0, "6", nullptr, "level"},
    {"threads", BH_OPT_INT, 0, "1", nullptr, "threads"},
    {"path", BH_OPT_STRING, 0, nullptr, nullptr, "directory"},
    {"password", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr, "password"},
    {"secret_key", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr, "secret key"},
    {"access_key", BH_OPT_STRING, 0, nullptr, nullptr, "access key"},
    {"bucket", BH_OPT_STRING, 0, nullptr, nullptr, "bucket"},
    {"endpoint", BH_OPT_STRING, 0, nullptr, nullptr, "endpoint"},
    {"region", BH_OPT_STRING, 0, "\"us-east-1\"", nullptr, "region"},
    {"host", BH_OPT_STRING, 0, nullptr, nullptr, "host"},
    {"port", BH_OPT_INT, 0, "5432", nullptr, "port"},
    {"database", BH_OPT_STRING, 0, nullptr, nullptr, "database"},
    {"user", BH_OPT_STRING, 0, nullptr, nullptr, "user"},
    {"url", BH_OPT_STRING, 0, nullptr, nullptr, "url"},
    {"secret_id", BH_OPT_STRING, 0, nullptr, nullptr, "secret id"},
    {"file", BH_OPT_STRING, 0, nullptr, nullptr, "file"},
    {"part_size", BH_OPT_SIZE, 0, "\"16MiB\"", nullptr, "part size"},
    {"timeout", BH_OPT_DURATION, 0, "\"30s\"", nullptr, "timeout"},
    {"format", BH_OPT_ENUM, 0, "\"plain\"", format_values, "format"},
    {"verbose", BH_OPT_BOOL, 0, "false", nullptr, "verbose"},
    {"headers", BH_OPT_TABLE, 0, "{}", nullptr, "headers"},
    {"on", BH_OPT_LIST, 0, nullptr, nullptr, "events"},
};
constexpr uint32_t option_count = sizeof option_table / sizeof option_table[0];

// Every environment variable is set (so interpolation goes past the lookup); secrets are "fetched" with a value that
// contains characters keys and logs must survive.
class FixedResolver : public ValueResolver {
  public:
    explicit FixedResolver(const PipelineSpec& spec) {
        for (const auto& [id, stage] : spec.secrets) ids_.insert(id);
    }
    std::optional<std::string> env(const std::string& name) const override {
        if (name == "UNSET") return std::nullopt;
        return "env-" + name;
    }
    bool has_secret(const std::string& id) const override { return ids_.count(id) != 0; }
    std::optional<std::string> secret(const std::string& id, const std::string& field) const override {
        if (field == "missing") throw std::runtime_error("secret '" + id + "' has no field 'missing'");
        return "s3cr3t/" + id + "." + field;
    }

  private:
    std::set<std::string> ids_;
};

void bind_stage(const StageSpec& stage, const ValueResolver& resolver) {
    try {
        BoundOptions bound = bind_options(stage, stage.plugin, option_table, option_count, resolver);
        for (const auto& [name, value] : bound.display()) {
            // A secret-flagged option must never show in clear.
            if ((name == "password" || name == "secret_key") && value != "<redacted>")
                fuzz_fail("secret option shown in clear: " + name + "=" + value);
        }
        (void)bound.secret_values();
    } catch (const ConfigError&) {
    } catch (const std::runtime_error&) {
        // A secret without the requested field is the resolver's runtime_error.
    }
}

void render_key(const PipelineSpec& spec, const SinkSpec& sink) {
    std::optional<KeyTemplate> key_template;
    try {
        key_template = KeyTemplate::parse(sink.key_template, sink.key_where);
    } catch (const ConfigError&) {
        return;
    }
    std::map<std::string, std::string> vars;
    for (const std::string& name : key_template->variables()) vars[name] = name == "ext" ? ".sql.gz" : "v-" + name;
    vars["pipeline"] = spec.name.empty() ? "p" : spec.name;
    // A fixed instant with every field distinct (2026-03-14 15:09:26 UTC, day 73, week 11).
    const auto start = std::chrono::system_clock::time_point(std::chrono::seconds(1773500966));
    std::string key;
    TimeZone zone = TimeZone::utc();
    try {
        zone = TimeZone::load(spec.timezone);
        key = key_template->render(start, zone, vars);
    } catch (const std::runtime_error&) {
        return;  // unknown zone, or a variable value the key rules refuse
    }
    try {
        check_object_key(key);
    } catch (const std::runtime_error& error) {
        fuzz_fail("render() returned an unsafe key '" + key + "': " + error.what());
    }
    KeyMatcher matcher(*key_template, {{"pipeline", vars["pipeline"]}}, zone);
    if (!key.starts_with(matcher.prefix()))
        fuzz_fail("rendered key '" + key + "' does not start with the matcher's prefix '" + matcher.prefix() + "'");
    if (!matcher.match(key)) fuzz_fail("KeyMatcher does not recognise the key its template rendered: '" + key + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    PipelineSpec spec;
    try {
        spec = parse_pipeline_text(text, "fuzz.toml");
    } catch (const ConfigError&) {
        return 0;
    }
    FixedResolver resolver(spec);
    for (const auto& [id, stage] : spec.secrets) bind_stage(stage, resolver);
    bind_stage(spec.source, resolver);
    for (const StageSpec& stage : spec.transforms) bind_stage(stage, resolver);
    for (const SinkSpec& sink : spec.sinks) bind_stage(sink.stage, resolver);
    for (const StageSpec& stage : spec.notifiers) bind_stage(stage, resolver);
    for (const SinkSpec& sink : spec.sinks) render_key(spec, sink);
    return 0;
}
