// tests/support/validate_completeness.hpp: proves that `backhaul validate` refuses every option value a plugin's
// `create` refuses (issue 13: validate catches everything run would reject). Header-only, for plugin tests.
//
// A plugin's test lists the invalid values its constructor (or validate) can reject, one case per value:
//
//   #include "validate_completeness.hpp"
//   TEST(GzipCompleteness, ValidateRefusesEverythingCreateRefuses) {
//       backhaul::completeness::expect_complete({
//           .plugin = "compress-gzip",
//           .base = "",                                    // option lines that make the stage valid
//           .cases = {
//               {"level", "12"},                            // option, invalid value as TOML
//               {"level", "-1"},
//               {"threads", "100000"},
//               {"password", "\"x\"", "user = \"\""},      // a combination: extra lines of the stage
//               {"level", "12", "", "must be between 0 and 9, got 12"},  // and (optional) what the line says
//               {"", "", "recipients = []"},                // the stage as a whole: validate points at its table
//           }});
//   }
//
// and in the plugin's CMakeLists.txt (inside if(BACKHAUL_BUILD_TESTS)):
//
//   backhaul_add_completeness_test(compress-gzip tests/gzip_validate_completeness_test.cpp)
//
// which also builds source-command and sink-local (the stages the harness fills the rest of the pipeline with). `base`,
// `value` and `others` may say @TMP@ for a temporary directory of the case's own (it holds an empty directory
// @TMP@/sink). Values must be literal (no ${secret:...}).
//
// For the base configuration and for every case it writes a whole pipeline file (the plugin's stage in its slot:
// [secrets.tested], [source], [[transform]], [sink] with key = "{pipeline}/backup", or [[notify]]), with the case's
// `option = value` on a line of its own, and asserts:
//   - the base is valid: `backhaul validate` exits 0 and the plugin's create returns BH_OK (so a case can fail);
//   - (a) the value is really invalid for a run: binding it as `run` does (types, the plugin's limits) refuses it,
//     or the plugin's create does (any status but BH_OK);
//   - (b) `backhaul validate FILE` exits 2 and prints a line starting with FILE:LINE:COL of that value (or of a
//     position inside it, such as the bad item of a list).
#pragma once

#include <backhaul/plugin_abi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "command_runner.hpp"
#include "config/notify_events.hpp"
#include "config/option_binding.hpp"
#include "config/pipeline_spec.hpp"
#include "engine/pipeline_plan.hpp"
#include "errors.hpp"
#include "loader/plugin_registry.hpp"
#include "plugin_harness.hpp"

namespace backhaul::completeness {

struct Case {
    Case(std::string option_name, std::string toml_value, std::string other_lines = {}, std::string message_part = {})
        : option(std::move(option_name)),
          value(std::move(toml_value)),
          others(std::move(other_lines)),
          message(std::move(message_part)) {}

    // The option whose value is invalid; validate must point at this value. "" for a problem of the stage as a whole
    // (e.g. a required combination missing): `others` then holds the lines and validate must point at the table.
    std::string option;
    std::string value;   // as TOML writes it: "12", "\"age1nope\"", "[]"
    std::string others;  // more lines of the stage, for a rule between options; they replace base lines of the same key
    std::string message;  // if not empty: text the line validate prints at that position must contain
};

struct PluginCases {
    std::string plugin;  // "compress-gzip"
    std::string base;    // lines "key = value" that make the stage valid on their own (may be empty)
    std::vector<Case> cases;
};

namespace detail {

inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

inline std::string key_of(const std::string& line) {
    const size_t equals = line.find('=');
    std::string key = line.substr(0, equals);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    return key;
}

// A pipeline file with the tested stage in its slot; `value_line` is the 1-based line of `option = value`.
struct PipelineText {
    std::string text;
    uint32_t value_line = 0;
    uint32_t value_column = 0;
};

inline PipelineText pipeline_text(const LoadedPlugin& plugin, const std::string& base, const Case* tested,
                                  const std::filesystem::path& tmp) {
    std::vector<std::string> stage = {"plugin = \"" + std::string(plugin.name()) + "\""};
    if (plugin.kind() == BH_KIND_SINK) stage.push_back("key = \"{pipeline}/backup\"");
    std::vector<std::string> extra = tested ? lines_of(tested->others) : std::vector<std::string>{};
    for (const std::string& line : lines_of(base)) {
        bool replaced = tested && key_of(line) == tested->option;
        for (const std::string& other : extra) replaced = replaced || key_of(other) == key_of(line);
        if (!replaced) stage.push_back(line);
    }
    for (const std::string& line : extra) stage.push_back(line);
    if (tested && !tested->option.empty()) stage.push_back(tested->option + " = " + tested->value);

    std::vector<std::string> lines = {
        "name = \"completeness\"",
        "plugin_path = [\"" + std::string(BACKHAUL_PLUGIN_BUILD_DIR) + "\"]",
        "lock_dir = \"" + (tmp / "locks").string() + "\"",
    };
    size_t header_line = 0;  // 1-based, of the tested stage's table
    const auto add_stage = [&](const std::string& header, bh_kind kind, const std::vector<std::string>& filler) {
        lines.push_back("");
        lines.push_back(header);
        if (plugin.kind() == kind) header_line = lines.size();
        const std::vector<std::string>& body = plugin.kind() == kind ? stage : filler;
        for (const std::string& line : body) lines.push_back(line);
    };
    if (plugin.kind() == BH_KIND_SECRET) add_stage("[secrets.tested]", BH_KIND_SECRET, {});
    add_stage("[source]", BH_KIND_SOURCE, {"plugin = \"source-command\"", "command = [\"true\"]"});
    if (plugin.kind() == BH_KIND_TRANSFORM) add_stage("[[transform]]", BH_KIND_TRANSFORM, {});
    add_stage("[sink]", BH_KIND_SINK,
              {"plugin = \"sink-local\"", "path = \"" + (tmp / "sink").string() + "\"", "key = \"{pipeline}/backup\""});
    if (plugin.kind() == BH_KIND_NOTIFIER) add_stage("[[notify]]", BH_KIND_NOTIFIER, {});

    PipelineText result;
    for (size_t i = 0; i < lines.size(); ++i) {
        lines[i] = replace_all(lines[i], "@TMP@", tmp.string());
        result.text += lines[i] + "\n";
    }
    if (tested && tested->option.empty()) {
        result.value_line = static_cast<uint32_t>(header_line);
        result.value_column = 1;
    } else if (tested) {
        const std::string value_line = replace_all(tested->option + " = " + tested->value, "@TMP@", tmp.string());
        for (size_t i = lines.size(); i-- > 0;) {
            if (lines[i] == value_line) {
                result.value_line = static_cast<uint32_t>(i + 1);
                result.value_column = static_cast<uint32_t>(tested->option.size() + 4);
                break;
            }
        }
    }
    return result;
}

inline StageSpec* tested_stage(PipelineSpec& spec, bh_kind kind) {
    switch (kind) {
        case BH_KIND_SECRET:
            return &spec.secrets.at(0).second;
        case BH_KIND_SOURCE:
            return &spec.source;
        case BH_KIND_TRANSFORM:
            return &spec.transforms.at(0);
        case BH_KIND_SINK:
            return &spec.sinks.at(0).stage;
        case BH_KIND_NOTIFIER:
            return &spec.notifiers.at(0);
        default:
            return nullptr;
    }
}

// How a run treats the stage: "" if bound and created, else why it was refused.
inline std::string run_refusal(const LoadedPlugin& plugin, const std::string& text, const std::string& file) {
    PipelineSpec spec;
    BoundOptions bound;
    try {
        spec = parse_pipeline_text(text, file);
        StageSpec* stage = tested_stage(spec, plugin.kind());
        if (plugin.kind() == BH_KIND_NOTIFIER) take_notify_events(*stage, file);
        const bh_plugin_descriptor& d = *plugin.descriptor;
        bound = bind_options(*stage, d.name, d.options, d.option_count, ValidationResolver({}), plugin.limits());
    } catch (const ConfigError& error) {
        return std::string("the host refused the options: ") + error.what();
    }
    harness::FakeHost host;
    const bh_status status = harness::status_of([&] {
        PluginHandle created(*plugin.descriptor, std::string(plugin.name()), host,
                             std::span<const bh_option_value>(bound.data(), bound.size()));
    });
    if (status == BH_OK) return "";
    return "create returned status " + std::to_string(status) + ": " + host.last_error();
}

}  // namespace detail

inline void expect_complete(const PluginCases& cases) {
    PluginRegistry registry;
    registry.load_file(std::string(BACKHAUL_PLUGIN_BUILD_DIR) + "/" + cases.plugin + ".so");
    const LoadedPlugin* plugin = registry.find(cases.plugin);
    ASSERT_NE(plugin, nullptr) << cases.plugin;

    const auto validate = [](const std::filesystem::path& file) {
        return testing::run_command({BACKHAUL_BINARY, "validate", file.string()});
    };
    {
        testing::TempDir tmp;
        std::filesystem::create_directories(tmp.path() / "sink");
        const detail::PipelineText base = detail::pipeline_text(*plugin, cases.base, nullptr, tmp.path());
        const std::filesystem::path file = tmp.path() / "pipeline.toml";
        testing::write_file(file, base.text);
        const testing::CommandResult result = validate(file);
        ASSERT_EQ(result.exit_code, 0) << "the base configuration must be valid:\n" << base.text << result.err;
        ASSERT_EQ(detail::run_refusal(*plugin, base.text, file.string()), "") << "the base configuration must create:\n"
                                                                              << base.text;
    }
    for (const Case& tested : cases.cases) {
        SCOPED_TRACE(cases.plugin + ": " +
                     (tested.option.empty() ? "the stage" : tested.option + " = " + tested.value) +
                     (tested.others.empty() ? "" : " with " + tested.others));
        testing::TempDir tmp;
        std::filesystem::create_directories(tmp.path() / "sink");
        const detail::PipelineText text = detail::pipeline_text(*plugin, cases.base, &tested, tmp.path());
        const std::filesystem::path file = tmp.path() / "pipeline.toml";
        testing::write_file(file, text.text);
        ASSERT_NE(text.value_line, 0u) << "harness bug: value line not found in\n" << text.text;

        EXPECT_NE(detail::run_refusal(*plugin, text.text, file.string()), "")
            << "(a) a run accepts this value, so it is not a case of something create refuses:\n"
            << text.text;

        const testing::CommandResult result = validate(file);
        // At the value, or inside it (an item of a list or table): its line, at or after its first column.
        const std::string position =
            file.string() + ":" + std::to_string(text.value_line) + ":" + std::to_string(text.value_column) + ": ";
        const std::string line_prefix = file.string() + ":" + std::to_string(text.value_line) + ":";
        const auto at_value = [&](const std::string& line) {
            if (line.rfind(line_prefix, 0) != 0) return false;
            const size_t column = std::strtoul(line.c_str() + line_prefix.size(), nullptr, 10);
            return column >= text.value_column;
        };
        EXPECT_EQ(result.exit_code, 2) << "(b) validate must refuse it:\n" << text.text << result.out << result.err;
        std::string line_at_value;  // the line validate printed for the value
        std::istringstream lines(result.err);
        for (std::string line; std::getline(lines, line);)
            if (at_value(line) && line_at_value.empty()) line_at_value = line;
        EXPECT_NE(line_at_value, "") << "(b) validate must report it at " << position << "\n"
                                     << text.text << result.err;
        if (!tested.message.empty()) {
            EXPECT_NE(line_at_value.find(tested.message), std::string::npos)
                << "(b) the line must say \"" << tested.message << "\":\n"
                << result.err;
        }
    }
}

}  // namespace backhaul::completeness
