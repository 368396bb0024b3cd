// A pipeline in a temp directory, run through the real `backhaul` binary, with sink-local below it and its own lock
// directory (so parallel tests never share a lock). Header-only, for tests/ops.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

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
        return "plugin = \"sink-local\"\npath = \"" + sink_dir().string() + "\"\nfsync = false\nkey = \"" + key +
               "\"\n";
    }
    // A source that blocks until open_gate(): a run of it holds the pipeline's lock for as long as the test needs,
    // with no timing involved.
    std::string gated_source() {
        const std::filesystem::path gate = tmp_ / "gate";
        if (!std::filesystem::exists(gate) && ::mkfifo(gate.c_str(), 0600) != 0)
            throw std::runtime_error("mkfifo " + gate.string());
        return shell_source("cat " + gate.string());
    }
    // Opening the fifo for writing lets the gated source read a line and end.
    void open_gate() { write_file(tmp_ / "gate", "done\n"); }
    static inline const std::string gzip = "[[transform]]\nplugin = \"compress-gzip\"\n";

    // `top` goes before the tables, `tables` ([retention], [[notify]]) after the sink. The file is
    // "<name>.toml" next to the sink; `lock_dir` "" leaves the lock in its default directory.
    std::filesystem::path pipeline(const std::string& source, const std::string& transforms, const std::string& sink,
                                   const std::string& tables = "", const std::string& top = "",
                                   const std::string& name = "ops", std::optional<std::string> lock = std::nullopt) {
        const std::string lock_line =
            lock && lock->empty() ? "" : "lock_dir = \"" + lock.value_or(lock_dir().string()) + "\"\n";
        std::string text = "name = \"" + name + "\"\nplugin_path = [\"" ENGINE_FIXTURE_DIR "\"]\n" + lock_line + top +
                           "\n[source]\n" + source + "\n" + transforms + "\n[sink]\n" + sink + "\n" + tables;
        std::filesystem::path file = tmp_ / (name == "ops" ? std::string("pipeline.toml") : name + ".toml");
        write_file(file, text);
        return file;
    }

    CommandResult backhaul(std::vector<std::string> args, const CommandOptions& options = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        return run_command(args, options);
    }

    // A committed backup at a chosen time: data, and unless `complete` is false a manifest naming `owner` (in the
    // form manifests had before they recorded a destination, which the catalog still reads as the name's).
    void plant(const std::string& key, bool complete = true, const std::string& data = "data",
               const std::string& owner = "ops") {
        std::filesystem::create_directories((sink_dir() / key).parent_path());
        write_file(sink_dir() / key, data);
        if (complete) write_file(sink_dir() / (key + ".manifest.json"), manifest_text(owner, key, data.size()));
    }
    static std::string manifest_text(const std::string& pipeline, const std::string& key, size_t raw_bytes) {
        return nlohmann::json{{"format", "backhaul-manifest/1"},
                              {"pipeline", pipeline},
                              {"key", key},
                              {"started_unix_ms", 0},
                              {"finished_unix_ms", 0},
                              {"duration_ms", 0},
                              {"raw_bytes", raw_bytes},
                              {"stored_bytes", raw_bytes},
                              {"sha256", ""}}
            .dump();
    }

    // Polls (bounded) until a lock file in `dir` names its holder, and returns that text.
    static std::string wait_for_lock_holder(const std::filesystem::path& dir, const std::string& prefix = "") {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
            if (std::filesystem::exists(dir))
                for (const std::string& f : files_below(dir))
                    if (f.starts_with(prefix))
                        if (std::string text = read_file(dir / f); !text.empty()) return text;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return "";
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
            if (!f.ends_with(".manifest.json") && !f.ends_with(".pending.json"))
                found = found.empty() ? f : "<more than one>";
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
