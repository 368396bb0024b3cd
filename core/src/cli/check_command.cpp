// `backhaul check PIPELINE [--json] [--notify]`: the live path of a pipeline, one line per check
// (engine/live_check.hpp).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command_line.hpp"
#include "engine/live_check.hpp"
#include "engine/signal_watch.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {
namespace {

// ✓ and ✗ where the locale says the terminal (or the mail cron sends) shows UTF-8, plain ASCII otherwise: the
// locale variables in the order the C library reads them, the first one set decides.
bool utf8_locale() {
    for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
        const char* value = std::getenv(name);
        if (!value || !*value) continue;
        std::string text = value;
        for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return text.find("utf-8") != std::string::npos || text.find("utf8") != std::string::npos;
    }
    return false;
}

struct Marks {
    const char* passed;
    const char* failed;
    const char* not_checked;
    const char* fix;
};

std::string check_line(const CheckResult& r, const Marks& marks) {
    const char* mark = r.status == CheckStatus::passed   ? marks.passed
                       : r.status == CheckStatus::failed ? marks.failed
                                                         : marks.not_checked;
    std::string line = std::string(mark) + " " + r.stage + ": " + r.name;
    if (r.status == CheckStatus::not_checked) line += ": not checked";
    if (!r.detail.empty()) line += ": " + r.detail;
    if (r.status == CheckStatus::failed && !r.fix.empty()) line += std::string(marks.fix) + r.fix;
    return line;
}

nlohmann::ordered_json report_json(const std::string& file, const std::string& pipeline,
                                   const LiveCheckReport& report) {
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const CheckResult& r : report.results) {
        nlohmann::ordered_json c = {
            {"stage", r.stage}, {"name", r.name}, {"status", check_status_name(r.status)}, {"detail", r.detail}};
        if (!r.fix.empty()) c["fix"] = r.fix;
        checks.push_back(std::move(c));
    }
    return {{"pipeline", pipeline},
            {"file", file},
            {"ok", report.ok()},
            {"passed", report.count(CheckStatus::passed)},
            {"failed", report.count(CheckStatus::failed)},
            {"not_checked", report.count(CheckStatus::not_checked)},
            {"checks", std::move(checks)}};
}

struct CheckOptions {
    std::string file;
    bool json = false;
    LiveCheckOptions live;
};

int check(const CheckOptions& options, const GlobalOptions& global) {
    PluginRegistry registry;
    auto plan = plan_pipeline(options.file, registry);
    RunControl control;
    SignalWatch signals(control);

    const Marks marks = utf8_locale() ? Marks{"✓", "✗", "-", " — fix: "} : Marks{"ok", "FAIL", "--", " -- fix: "};
    // --quiet (cron): only what failed, so a clean check mails nothing.
    auto print = [&](const CheckResult& r) {
        if (options.json || (global.quiet && r.status != CheckStatus::failed)) return;
        std::printf("%s\n", check_line(r, marks).c_str());
        std::fflush(stdout);
    };
    LiveCheckReport report;
    try {
        report = run_live_check(*plan, options.live, control, print);
    } catch (const RunError& e) {
        Log::error(std::string("check interrupted: ") + e.what());
        return static_cast<int>(ExitCode::run_failed);
    }
    const size_t failed = report.count(CheckStatus::failed);
    if (options.json) {
        std::cout << report_json(options.file, plan->spec.name, report).dump(2) << "\n";
    } else if (failed > 0 || !global.quiet) {
        std::string counts = std::to_string(report.count(CheckStatus::passed)) + " passed, " + std::to_string(failed) +
                             " failed, " + std::to_string(report.count(CheckStatus::not_checked)) + " not checked";
        if (failed == 0)
            std::printf("pipeline '%s': every check passed (%s)\n", plan->spec.name.c_str(), counts.c_str());
        else
            std::printf("pipeline '%s': %zu check(s) FAILED (%s)\n", plan->spec.name.c_str(), failed, counts.c_str());
    }
    return report.ok() ? 0 : static_cast<int>(ExitCode::run_failed);
}

}  // namespace

void add_check_command(CommandLine& cli) {
    auto options = std::make_shared<CheckOptions>();
    CLI::App& command = cli.add_command(
        "check",
        "prove the live path: fetch secrets, run each plugin's live checks, encode and decode through every "
        "transform, write, read and delete a probe object in the sink",
        [options](const Invocation& call) { return check(*options, call.global); });
    add_pipeline_argument(command, options->file);
    command.add_flag("--json", options->json, "one JSON document with every check instead of lines");
    command.add_flag("--notify", options->live.notify, "also send each notifier a test event (outcome \"check\")");
}

}  // namespace backhaul
