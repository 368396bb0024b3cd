// A pipeline in a temp directory, run through the real `backhaul` binary, with sink-local below it and its own lock
// directory (so parallel tests never share a lock). Header-only, for tests/ops.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "command_runner.hpp"

namespace backhaul::testing {

class OpsTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::create_directories(sink_dir());
        write_file(tmp_ / "input.txt", input_);
    }

    std::filesystem::path sink_dir() const { return tmp_ / "sink"; }
    std::filesystem::path lock_dir() const { return tmp_ / "locks"; }

    std::string cat_source() const {
        return "plugin = \"source-command\"\ncommand = [\"cat\", \"" + (tmp_ / "input.txt").string() + "\"]\n";
    }
    std::string shell_source(const std::string& script) const {
        return "plugin = \"source-command\"\ncommand = [\"sh\", \"-c\", \"" + script + "\"]\n";
    }
    std::string local_sink(const std::string& key = "{pipeline}/%Y%m%d-%H%M%S{ext}") const {
        return "plugin = \"sink-local\"\npath = \"" + sink_dir().string() + "\"\nfsync = false\nkey = \"" + key + "\"\n";
    }
    static inline const std::string gzip = "[[transform]]\nplugin = \"compress-gzip\"\n";

    // name = "ops"; `top` goes before the tables, `tables` ([retention], [[notify]]) after the sink.
    std::filesystem::path pipeline(const std::string& source, const std::string& transforms, const std::string& sink,
                                   const std::string& tables = "", const std::string& top = "") {
        std::string text = "name = \"ops\"\nplugin_path = [\"" ENGINE_FIXTURE_DIR "\"]\nlock_dir = \"" +
                           lock_dir().string() + "\"\n" + top + "\n[source]\n" + source + "\n" + transforms +
                           "\n[sink]\n" + sink + "\n" + tables;
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }

    CommandResult backhaul(std::vector<std::string> args, const CommandOptions& options = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        return run_command(args, options);
    }

    // A committed backup as a real run would leave it, at a chosen time: data, and a manifest unless incomplete.
    void plant(const std::string& key, bool complete = true, const std::string& data = "data") {
        std::filesystem::create_directories((sink_dir() / key).parent_path());
        write_file(sink_dir() / key, data);
        if (complete) write_file(sink_dir() / (key + ".manifest.json"), "{}");
    }

    nlohmann::json manifest_of(const std::string& key) {
        return nlohmann::json::parse(read_file(sink_dir() / (key + ".manifest.json")));
    }

    static std::string sha256_of(const std::filesystem::path& file) {
        CommandResult r = run_command({"sha256sum", file.string()});
        return r.out.substr(0, 64);
    }

    // The one data object (not a manifest) below the sink.
    std::string only_data_key() {
        std::string found;
        for (const std::string& f : files_below(sink_dir()))
            if (!f.ends_with(".manifest.json")) found = found.empty() ? f : "<more than one>";
        return found;
    }

    TempDir tmp_;
    std::string input_ = [] {
        std::string s;
        for (int i = 0; i < 50000; ++i) s += "row " + std::to_string(i) + "\n";
        return s;
    }();
};

}  // namespace backhaul::testing
