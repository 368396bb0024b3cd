#include "config/pipeline_spec.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "config/key_template.hpp"
#include "config/option_binding.hpp"
#include "config/time_zone.hpp"

namespace backhaul {

namespace {

constexpr const char* allowed_top_level_keys =
    "name, timezone, plugin_path, lock_dir, timeout, allow_empty, shrink_threshold, jobs, memory_budget, secrets, "
    "source, transform, sink, retention, notify";

bool is_pipeline_name(std::string_view name) {
    if (name.empty()) return false;
    for (const char c : name) {
        const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                             c == '.' || c == '-';
        if (!allowed) return false;
    }
    return true;
}

bool is_secret_id(std::string_view id) {
    if (id.empty()) return false;
    const auto letter_or_underscore = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    };
    if (!letter_or_underscore(id.front())) return false;
    for (const char c : id)
        if (!letter_or_underscore(c) && !(c >= '0' && c <= '9') && c != '-') return false;
    return true;
}

// "<kind>-<name>": lowercase words of letters and digits joined by '-', at least two of them.
bool is_plugin_name(std::string_view name) {
    if (name.empty() || name.front() == '-' || name.back() == '-' || name.find('-') == std::string_view::npos) {
        return false;
    }
    if (name.front() >= '0' && name.front() <= '9') return false;
    for (size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (c == '-' && name[i - 1] == '-') return false;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}

bool before(const SourcePosition& a, const SourcePosition& b) {
    return a.line < b.line || (a.line == b.line && a.column < b.column);
}

// One key of a table, with the position errors about the entry point at.
struct TableEntry {
    std::string name;
    const toml::node* node = nullptr;
    SourcePosition key_where;
    SourcePosition where;  // earliest of key and value: the '[' of "[sink]", the key of "key = ..."
};

class PipelineParser {
  public:
    PipelineParser(std::shared_ptr<const toml::table> root, std::string file)
        : root_(std::move(root)), file_(std::move(file)) {}

    // Every problem of the file's shape goes to `problems`; each key is checked on its own, so one run reports all.
    PipelineSpec parse(ConfigProblems& problems) {
        PipelineSpec spec;
        spec.file = file_;
        const auto step = [&](auto&& check) { return problems.attempt(check); };
        const std::vector<TableEntry> entries = entries_of(*root_);
        for (const TableEntry& entry : entries) {
            static const std::vector<std::string> known = {
                "name",    "timezone",    "plugin_path",      "lock_dir", "timeout",
                "secrets", "source",      "transform",        "sink",     "retention",
                "notify",  "allow_empty", "shrink_threshold", "jobs",     "memory_budget"};
            if (std::find(known.begin(), known.end(), entry.name) == known.end()) {
                problems.add(entry.where, "unknown key '" + entry.name + "' (allowed: " + allowed_top_level_keys + ")");
            }
        }
        const auto find = [&](const std::string& name) -> const TableEntry* {
            for (const TableEntry& entry : entries)
                if (entry.name == name) return &entry;
            return nullptr;
        };

        if (const TableEntry* name = find("name")) {
            step([&] {
                spec.name_where = position_of(*name->node, file_);
                const std::string value = expect_string(*name->node, "'name'");
                if (const std::optional<std::string> problem = pipeline_name_problem(value))
                    throw ConfigError(spec.name_where, *problem);
                spec.name = value;
            });
        } else {
            problems.add(file_start(), "missing required key 'name'");
        }

        if (const TableEntry* timezone = find("timezone")) {
            step([&] {
                spec.timezone_where = position_of(*timezone->node, file_);
                const std::string value = expect_string(*timezone->node, "'timezone'");
                try {
                    TimeZone::load(value);
                } catch (const std::runtime_error& error) {
                    throw ConfigError(spec.timezone_where, error.what());
                }
                spec.timezone = value;
            });
        }

        if (const TableEntry* plugin_path = find("plugin_path")) {
            step([&] {
                const toml::array& paths = expect_array(*plugin_path->node, "'plugin_path'", "an array of strings");
                for (size_t i = 0; i < paths.size(); ++i) {
                    step([&] {
                        const std::string what = "'plugin_path[" + std::to_string(i) + "]'";
                        const std::string entry = expect_string(paths[i], what);
                        if (entry.empty()) throw ConfigError(position_of(paths[i], file_), what + " is empty");
                        spec.plugin_path.push_back(entry);
                    });
                }
            });
        }

        if (const TableEntry* lock_dir = find("lock_dir")) {
            step([&] {
                const std::string value = expect_string(*lock_dir->node, "'lock_dir'");
                if (value.empty()) throw ConfigError(position_of(*lock_dir->node, file_), "'lock_dir' is empty");
                spec.lock_dir = value;
            });
        }

        if (const TableEntry* allow_empty = find("allow_empty")) {
            step([&] {
                const auto* value = allow_empty->node->as_boolean();
                if (!value)
                    throw ConfigError(position_of(*allow_empty->node, file_),
                                      "'allow_empty' must be a boolean, got " + toml_type_name(*allow_empty->node));
                spec.allow_empty = value->get();
            });
        }

        if (const TableEntry* threshold = find("shrink_threshold")) {
            step([&] {
                const SourcePosition where = position_of(*threshold->node, file_);
                std::optional<double> value;
                if (const auto* f = threshold->node->as_floating_point()) value = f->get();
                if (const auto* i = threshold->node->as_integer()) value = static_cast<double>(i->get());
                if (!value)
                    throw ConfigError(where, "'shrink_threshold' must be a number from 0 to 1 (e.g. 0.5), got " +
                                                 toml_type_name(*threshold->node));
                if (!(*value >= 0.0 && *value <= 1.0))  // also rejects nan
                    throw ConfigError(where, "'shrink_threshold' must be from 0 (off) to 1, e.g. 0.5");
                spec.shrink_threshold = *value;
            });
        }

        if (const TableEntry* jobs = find("jobs")) {
            step([&] {
                spec.jobs_where = position_of(*jobs->node, file_);
                const auto* value = jobs->node->as_integer();
                if (!value)
                    throw ConfigError(spec.jobs_where, "'jobs' must be an integer from 1 to " +
                                                           std::to_string(kMaxJobs) + ", got " +
                                                           toml_type_name(*jobs->node));
                if (value->get() < 1 || value->get() > kMaxJobs)
                    throw ConfigError(spec.jobs_where, "'jobs' must be from 1 to " + std::to_string(kMaxJobs));
                spec.jobs = static_cast<int>(value->get());
            });
        }

        if (const TableEntry* budget = find("memory_budget")) {
            step([&] {
                spec.memory_budget_where = position_of(*budget->node, file_);
                const int64_t bytes = size_value(*budget->node, file_, "'memory_budget'");
                if (bytes <= 0)
                    throw ConfigError(spec.memory_budget_where, "'memory_budget' must be greater than zero");
                spec.memory_budget = bytes;
            });
        }

        if (const TableEntry* timeout = find("timeout")) {
            step([&] {
                spec.timeout_where = position_of(*timeout->node, file_);
                const int64_t ms = duration_value(*timeout->node, file_, "'timeout'");
                if (ms <= 0) throw ConfigError(spec.timeout_where, "'timeout' must be greater than zero");
                spec.timeout_ms = ms;
            });
        }

        if (const TableEntry* secrets = find("secrets")) {
            step([&] {
                for (const TableEntry& secret : entries_of(expect_table(*secrets->node, "'secrets'"))) {
                    if (!is_secret_id(secret.name)) {
                        problems.add(secret.key_where, "invalid secret id '" + secret.name +
                                                           "' (use letters, digits, '_' and '-', not starting with a "
                                                           "digit or '-')");
                        continue;
                    }
                    const std::string label = "secrets." + secret.name;
                    spec.secrets.emplace_back(secret.name, parse_stage(*secret.node, label, BH_KIND_SECRET, problems));
                }
            });
        }

        if (const TableEntry* source = find("source")) {
            spec.source = parse_stage(*source->node, "source", BH_KIND_SOURCE, problems);
        } else {
            problems.add(file_start(), "missing required table [source]");
        }

        if (const TableEntry* transforms = find("transform")) {
            step([&] {
                const toml::array& items =
                    expect_array(*transforms->node, "'transform'", "an array of tables ([[transform]])");
                for (size_t i = 0; i < items.size(); ++i) {
                    spec.transforms.push_back(
                        parse_stage(items[i], "transform[" + std::to_string(i) + "]", BH_KIND_TRANSFORM, problems));
                }
            });
        }

        if (const TableEntry* sink = find("sink")) {
            step([&] { parse_sinks(*sink->node, spec, problems); });
        } else {
            problems.add(file_start(), "missing required table [sink]");
        }

        if (const TableEntry* notifiers = find("notify")) {
            step([&] {
                const toml::array& items =
                    expect_array(*notifiers->node, "'notify'", "an array of tables ([[notify]])");
                for (size_t i = 0; i < items.size(); ++i) {
                    spec.notifiers.push_back(
                        parse_stage(items[i], "notify[" + std::to_string(i) + "]", BH_KIND_NOTIFIER, problems));
                }
            });
        }

        if (const TableEntry* retention = find("retention")) {
            step([&] {
                spec.retention =
                    std::shared_ptr<const toml::table>(root_, &expect_table(*retention->node, "'retention'"));
            });
        }
        return spec;
    }

  private:
    SourcePosition file_start() const { return SourcePosition{file_, 1, 1}; }

    std::vector<TableEntry> entries_of(const toml::table& table) const {
        std::vector<TableEntry> entries;
        for (const auto& [key, node] : table) {
            TableEntry entry;
            entry.name = std::string(key.str());
            entry.node = &node;
            entry.key_where = SourcePosition{file_, key.source().begin.line, key.source().begin.column};
            const SourcePosition node_where = position_of(node, file_);
            entry.where = node_where.line != 0 && before(node_where, entry.key_where) ? node_where : entry.key_where;
            entries.push_back(std::move(entry));
        }
        // toml++ keeps keys sorted by name; errors and option order follow the file instead.
        std::stable_sort(entries.begin(), entries.end(),
                         [](const TableEntry& a, const TableEntry& b) { return before(a.where, b.where); });
        return entries;
    }

    std::string expect_string(const toml::node& node, const std::string& what) const {
        if (const auto* value = node.as_string()) return value->get();
        throw ConfigError(position_of(node, file_), what + " must be a string, got " + toml_type_name(node));
    }
    const toml::table& expect_table(const toml::node& node, const std::string& what) const {
        if (const auto* table = node.as_table()) return *table;
        throw ConfigError(position_of(node, file_), what + " must be a table, got " + toml_type_name(node));
    }
    const toml::array& expect_array(const toml::node& node, const std::string& what,
                                    const std::string& expected) const {
        if (const auto* array = node.as_array()) return *array;
        throw ConfigError(position_of(node, file_), what + " must be " + expected + ", got " + toml_type_name(node));
    }

    // A stage whose table or `plugin` has a problem keeps an empty `plugin`: later steps skip it.
    StageSpec parse_stage(const toml::node& node, const std::string& label, bh_kind kind,
                          ConfigProblems& problems) const {
        StageSpec stage;
        stage.label = label;
        stage.kind = kind;
        const toml::table* table = node.as_table();
        if (!table) {
            problems.add(position_of(node, file_), "'" + label + "' must be a table, got " + toml_type_name(node));
            return stage;
        }
        stage.where = position_of(*table, file_);
        bool has_plugin = false;
        for (const TableEntry& entry : entries_of(*table)) {
            if (entry.name == "plugin") {
                has_plugin = true;
                problems.attempt([&] {
                    const std::string plugin = expect_string(*entry.node, label + ": 'plugin'");
                    stage.plugin_where = position_of(*entry.node, file_);
                    if (!is_plugin_name(plugin)) {
                        throw ConfigError(stage.plugin_where, label + ": plugin '" + plugin +
                                                                  "' is not of the form '<kind>-<name>' (lowercase "
                                                                  "letters, digits and '-', e.g. 'compress-gzip')");
                    }
                    stage.plugin = plugin;
                });
                continue;
            }
            stage.options.push_back(
                OptionEntry{entry.name, std::shared_ptr<const toml::node>(root_, entry.node), entry.key_where});
        }
        if (!has_plugin) problems.add(stage.where, label + ": missing 'plugin'");
        return stage;
    }

    // `[sink]` is one sink labelled "sink"; `[[sink]]` is several, each labelled "sink.NAME". Names are unique.
    void parse_sinks(const toml::node& node, PipelineSpec& spec, ConfigProblems& problems) const {
        if (node.is_table()) {
            spec.sinks.push_back(parse_sink(node, "sink", problems));
            return;
        }
        const toml::array& items = expect_array(node, "'sink'", "a table ([sink]) or an array of tables ([[sink]])");
        if (items.empty()) throw ConfigError(position_of(node, file_), "'sink' must list at least one sink");
        for (size_t i = 0; i < items.size(); ++i) {
            SinkSpec sink = parse_sink(items[i], "sink[" + std::to_string(i) + "]", problems);
            for (const SinkSpec& other : spec.sinks)
                if (!sink.name.empty() && other.name == sink.name)
                    problems.add(sink.name_where, "sink '" + sink.name + "' is defined twice (first at line " +
                                                      std::to_string(other.name_where.line) +
                                                      "); give each [[sink]] its own 'name'");
            if (!sink.name.empty()) sink.stage.label = "sink." + sink.name;
            spec.sinks.push_back(std::move(sink));
        }
    }

    SinkSpec parse_sink(const toml::node& node, const std::string& label, ConfigProblems& problems) const {
        SinkSpec sink;
        sink.stage = parse_stage(node, label, BH_KIND_SINK, problems);
        if (sink.stage.where.line == 0) return sink;  // not a table: reported
        sink.name_where = sink.stage.where;
        std::optional<OptionEntry> key, name, required;
        auto take = [&](const char* host_key, std::optional<OptionEntry>& into) {
            auto& options = sink.stage.options;
            auto it = std::find_if(options.begin(), options.end(),
                                   [&](const OptionEntry& option) { return option.name == host_key; });
            if (it == options.end()) return;
            into = *it;
            options.erase(it);  // never a sink option, even when invalid
        };
        take("key", key);
        take("name", name);
        take("required", required);
        problems.attempt([&] {
            if (!key) throw ConfigError(sink.stage.where, label + ": missing required option 'key'");
            sink.key_where = position_of(*key->value, file_);
            const std::string text = expect_string(*key->value, label + ": option 'key'");
            KeyTemplate::parse(text, sink.key_where);
            sink.key_template = text;
        });
        problems.attempt([&] {
            if (!name) {
                sink.name = sink.stage.plugin.rfind("sink-", 0) == 0 ? sink.stage.plugin.substr(5) : sink.stage.plugin;
                return;
            }
            sink.name_where = position_of(*name->value, file_);
            const std::string text = expect_string(*name->value, label + ": 'name'");
            if (!is_secret_id(text))
                throw ConfigError(sink.name_where, label + ": invalid sink name '" + text +
                                                       "' (use letters, digits, '_' and '-', not starting with a "
                                                       "digit or '-')");
            sink.name = text;
        });
        problems.attempt([&] {
            if (!required) return;
            const auto* value = required->value->as_boolean();
            if (!value)
                throw ConfigError(
                    position_of(*required->value, file_),
                    label + ": 'required' must be true or false, got " + toml_type_name(*required->value));
            sink.required = value->get();
        });
        return sink;
    }

    std::shared_ptr<const toml::table> root_;
    std::string file_;
};

std::string one_line(std::string_view text) {
    std::string result(text);
    std::replace(result.begin(), result.end(), '\n', ' ');
    while (!result.empty() && result.back() == ' ') result.pop_back();
    return result;
}

}  // namespace

std::string toml_type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string:
            return "string";
        case toml::node_type::integer:
            return "integer";
        case toml::node_type::floating_point:
            return "float";
        case toml::node_type::boolean:
            return "boolean";
        case toml::node_type::date:
            return "date";
        case toml::node_type::time:
            return "time";
        case toml::node_type::date_time:
            return "date-time";
        case toml::node_type::array:
            return "array";
        case toml::node_type::table:
            return "table";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

SourcePosition position_of(const toml::node& node, const std::string& file) {
    return SourcePosition{file, node.source().begin.line, node.source().begin.column};
}

std::optional<std::string> pipeline_name_problem(std::string_view name) {
    const std::string shown = name.size() > 40 ? std::string(name.substr(0, 40)) + "..." : std::string(name);
    if (!is_pipeline_name(name)) return "invalid pipeline name '" + shown + "' (use letters, digits, '_', '.' and '-')";
    if (name == "." || name == "..")
        return "invalid pipeline name '" + shown + "' (it names a path segment of keys: '.' and '..' are not allowed)";
    if (name.size() > kMaxPipelineNameLength)
        return "pipeline name is " + std::to_string(name.size()) + " characters long; the maximum is " +
               std::to_string(kMaxPipelineNameLength) + " (it names the lock file)";
    return std::nullopt;
}

PipelineSpec parse_pipeline_text(std::string_view text, const std::string& file_label, ConfigProblems& problems) {
    std::shared_ptr<toml::table> root;
    try {
        root = std::make_shared<toml::table>(toml::parse(text, std::string_view(file_label)));
    } catch (const toml::parse_error& error) {
        // toml++ stops at the first syntax error: nothing after it can be checked.
        const toml::source_position begin = error.source().begin;
        throw ConfigError(SourcePosition{file_label, begin.line, begin.column}, one_line(error.description()));
    }
    return PipelineParser(std::move(root), file_label).parse(problems);
}

PipelineSpec parse_pipeline_text(std::string_view text, const std::string& file_label) {
    ConfigProblems problems;
    PipelineSpec spec = parse_pipeline_text(text, file_label, problems);
    problems.throw_if_any();
    return spec;
}

PipelineSpec parse_pipeline_file(const std::filesystem::path& path) {
    ConfigProblems problems;
    PipelineSpec spec = parse_pipeline_file(path, problems);
    problems.throw_if_any();
    return spec;
}

PipelineSpec parse_pipeline_file(const std::filesystem::path& path, ConfigProblems& problems) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw ConfigError(SourcePosition{path.string(), 0, 0}, std::string("cannot read: ") + std::strerror(errno));
    }
    std::ostringstream text;
    text << file.rdbuf();
    if (file.bad()) throw ConfigError(SourcePosition{path.string(), 0, 0}, "cannot read: I/O error");
    return parse_pipeline_text(text.str(), path.string(), problems);
}

}  // namespace backhaul
