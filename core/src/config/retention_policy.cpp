#include "config/retention_policy.hpp"

#include "config/option_binding.hpp"
#include "config/pipeline_spec.hpp"

namespace backhaul {

RetentionPolicy parse_retention_policy(const toml::table& table, const std::string& file) {
    RetentionPolicy policy;
    bool any_rule = false;
    struct Count {
        const char* name;
        int64_t RetentionPolicy::*field;
    };
    static constexpr Count counts[] = {
        {"keep_last", &RetentionPolicy::keep_last},       {"keep_hourly", &RetentionPolicy::keep_hourly},
        {"keep_daily", &RetentionPolicy::keep_daily},     {"keep_weekly", &RetentionPolicy::keep_weekly},
        {"keep_monthly", &RetentionPolicy::keep_monthly}, {"keep_yearly", &RetentionPolicy::keep_yearly},
        {"min_keep", &RetentionPolicy::min_keep},
    };
    ConfigProblems problems;
    for (const auto& [key, node] : table) {
        const std::string name(key.str());
        const SourcePosition key_where{file, key.source().begin.line, key.source().begin.column};
        const SourcePosition where = position_of(node, file);
        const std::string what = "retention: '" + name + "'";
        if (name == "incomplete_after") {
            // A named reference, not the structured binding: clang 14 cannot capture bindings in a lambda.
            const toml::node& duration_node = node;
            problems.attempt([&] {
                policy.incomplete_after = std::chrono::milliseconds(duration_value(duration_node, file, what));
            });
            continue;
        }
        const Count* count = nullptr;
        for (const Count& c : counts)
            if (name == c.name) count = &c;
        if (!count) {
            problems.add(key_where, "retention: unknown key '" + name + "' (allowed: " + kRetentionKeys + ")");
            any_rule = true;  // likely a rule misspelt: "no rule is set" would only repeat it
            continue;
        }
        const auto* value = node.as_integer();
        if (!value) {
            problems.add(where, what + " must be an integer, got " + toml_type_name(node));
            // Not counted as "no rule" either: the rule is there, only mistyped.
            if (name != "min_keep") any_rule = true;
            continue;
        }
        if (value->get() < 0) {
            problems.add(where, what + " must not be negative");
            if (name != "min_keep") any_rule = true;
            continue;
        }
        policy.*(count->field) = value->get();
        if (name != "min_keep" && value->get() > 0) any_rule = true;
    }
    if (!any_rule) {
        problems.add(position_of(table, file),
                     "retention: no keep_* rule is set (set at least one of keep_last, keep_hourly, keep_daily, "
                     "keep_weekly, keep_monthly, keep_yearly)");
    }
    problems.throw_if_any();
    return policy;
}

}  // namespace backhaul
