// A pipeline file checked against the plugins it names: every plugin loaded and of the right kind, every option
// validated against its plugin's table, every ${...} reference and key-template variable resolvable. Building a plan
// runs no plugin code beyond reading descriptors, so `backhaul validate` does no network or plugin I/O.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "config/interpolation.hpp"
#include "config/key_template.hpp"
#include "config/pipeline_spec.hpp"
#include "loader/plugin_registry.hpp"

namespace backhaul {

struct StagePlan {
    const StageSpec* spec;
    const LoadedPlugin* plugin;
};

struct PipelinePlan {
    PipelineSpec spec;
    std::vector<StagePlan> secrets;  // in file order; secrets[i] is spec.secrets[i]
    StagePlan source{};
    std::vector<StagePlan> transforms;
    StagePlan sink{};
    KeyTemplate key;

    PipelinePlan() = default;
    PipelinePlan(const PipelinePlan&) = delete;  // StagePlan points into spec
    PipelinePlan& operator=(const PipelinePlan&) = delete;
};

// Parses `file`, loads the plugin search path into `registry` and validates. Throws ConfigError (exit 2) or
// PluginLoadError (exit 3).
std::unique_ptr<PipelinePlan> plan_pipeline(const std::filesystem::path& file, PluginRegistry& registry);

// Resolves ${env:...} from the process environment and treats ${secret:ID.FIELD} as "defined if [secrets.ID] is":
// the values are fetched only by a run.
class ValidationResolver : public ValueResolver {
public:
    explicit ValidationResolver(std::set<std::string> secret_ids) : secret_ids_(std::move(secret_ids)) {}
    std::optional<std::string> env(const std::string& name) const override;
    bool has_secret(const std::string& id) const override { return secret_ids_.count(id) != 0; }
    std::optional<std::string> secret(const std::string&, const std::string&) const override { return std::nullopt; }

private:
    std::set<std::string> secret_ids_;
};

}  // namespace backhaul
