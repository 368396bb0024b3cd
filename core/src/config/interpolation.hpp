// ${env:NAME} and ${secret:ID.FIELD} references inside pipeline string values; "$${" is a literal "${".
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "errors.hpp"

namespace backhaul {

// What ${...} references resolve against.
class ValueResolver {
  public:
    virtual ~ValueResolver() = default;
    virtual std::optional<std::string> env(const std::string& name) const = 0;
    // Whether [secrets.<id>] exists in the pipeline.
    virtual bool has_secret(const std::string& id) const = 0;
    // nullopt in validate mode (secrets not fetched): the reference is only checked for syntax and for its id. A secret
    // that lacks `field` at run time is the resolver's error to throw.
    virtual std::optional<std::string> secret(const std::string& id, const std::string& field) const = 0;
};

// Environment from the process (getenv); secrets declared by id but never fetched, i.e. validate mode.
class ProcessEnvResolver : public ValueResolver {
  public:
    explicit ProcessEnvResolver(std::set<std::string> secret_ids = {}) : secret_ids_(std::move(secret_ids)) {}
    std::optional<std::string> env(const std::string& name) const override;
    bool has_secret(const std::string& id) const override { return secret_ids_.count(id) != 0; }
    std::optional<std::string> secret(const std::string&, const std::string&) const override { return std::nullopt; }

  private:
    std::set<std::string> secret_ids_;
};

struct InterpolatedString {
    std::string value;
    bool contains_secret = false;  // a ${secret:...} was substituted (or a placeholder, in validate mode)
    bool has_placeholder = false;  // validate mode: `value` holds a placeholder instead of a secret, so it is not real
    bool has_references = false;   // any ${...} was present, i.e. the value was not written literally
};

// Placeholder that stands in for an unfetched secret in validate mode: "<secret:ID.FIELD>".
std::string secret_placeholder(const std::string& id, const std::string& field);

// Expands every reference in `text`. Errors are ConfigError at `where`, message "<context>: <problem>", e.g.
// "source: option 'password': undefined environment variable 'DB_PASS'".
InterpolatedString interpolate(std::string_view text, const ValueResolver& resolver, const SourcePosition& where,
                               const std::string& context);

}  // namespace backhaul
