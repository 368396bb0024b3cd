// The secret fields fetched for one run: the resolver for ${secret:ID.FIELD}. Values live only in this object's
// memory, are registered with the logger for scrubbing, and are wiped when it is destroyed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/interpolation.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/run_control.hpp"

namespace backhaul {

class SecretStore : public ValueResolver {
  public:
    SecretStore() = default;
    ~SecretStore() override;
    SecretStore(const SecretStore&) = delete;
    SecretStore& operator=(const SecretStore&) = delete;

    // Creates each [secrets.ID] plugin, fetches all its fields, destroys it. Throws RunError on failure.
    void fetch_all(const PipelinePlan& plan, const RunControl& control);
    // The same for plan.secrets[index] alone (`backhaul check` reports each secret). Returns the field names.
    std::vector<std::string> fetch(const PipelinePlan& plan, size_t index, const RunControl& control);

    std::optional<std::string> env(const std::string& name) const override;
    bool has_secret(const std::string& id) const override { return fields_.count(id) != 0; }
    // Throws RunError naming the fields that do exist (names only, never values) if `field` is missing.
    std::optional<std::string> secret(const std::string& id, const std::string& field) const override;

  private:
    std::map<std::string, std::map<std::string, std::string>> fields_;
};

}  // namespace backhaul
