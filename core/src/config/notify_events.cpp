#include "config/notify_events.hpp"

#include <algorithm>

namespace backhaul {

NotifyEvents take_notify_events(StageSpec& stage, const std::string& file) {
    NotifyEvents events;
    auto on = std::find_if(stage.options.begin(), stage.options.end(),
                           [](const OptionEntry& option) { return option.name == "on"; });
    if (on == stage.options.end()) return events;
    const std::string what = stage.label + ": 'on'";
    const std::shared_ptr<const toml::node> value = on->value;
    stage.options.erase(on);  // host-level even when invalid: never passed to the plugin
    const toml::array* items = value->as_array();
    if (!items) {
        throw ConfigError(position_of(*value, file),
                          what + " must be an array of \"success\" and/or \"failure\", got " + toml_type_name(*value));
    }
    if (items->empty()) throw ConfigError(position_of(*value, file), what + " must not be empty");
    ConfigProblems problems;
    events = NotifyEvents{false, false};
    for (const toml::node& item : *items) {
        const auto* text = item.as_string();
        bool* flag = nullptr;
        if (text && text->get() == "success") flag = &events.success;
        if (text && text->get() == "failure") flag = &events.failure;
        if (!flag) {
            std::string shown = text ? "'" + text->get() + "'" : "a " + toml_type_name(item);
            problems.add(position_of(item, file),
                         what + ": unknown event " + shown + " (allowed: \"success\", \"failure\")");
            continue;
        }
        if (*flag) problems.add(position_of(item, file), what + ": '" + text->get() + "' is listed twice");
        *flag = true;
    }
    problems.throw_if_any();
    return events;
}

}  // namespace backhaul
