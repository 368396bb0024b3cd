// What the contract suites share: the generated test stream and the program that writes it, gates that stop a run at
// an exact byte, and running the SDK's `backhaul`. The suites (sdk/testkit/src/*_contract.cpp) are compiled into each
// plugin's test program by backhaul_add_plugin_tests(); a target's own code rarely needs this header.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "process.hpp"
#include "targets.hpp"

namespace backhaul::testkit {

// ---- The generated stream -----------------------------------------------------------------------------------------
// A deterministic stream of `size` bytes for a seed, in blocks of 64 KiB: even blocks pseudo-random, odd blocks
// repetitive text, so that compressors see both. The test and the program it runs as a source compute the same bytes
// independently; a large stream is compared block by block, never held in memory.

inline constexpr size_t kGeneratedBlock = 64 * 1024;
std::string generated_block(uint64_t seed, uint64_t index);
std::string generated(uint64_t seed, uint64_t size);
// "" when `file` holds exactly the generated stream, else where it differs first.
std::string differs_from_generated(const std::filesystem::path& file, uint64_t seed, uint64_t size);

// The source-command argv of this program writing the generated stream: it exits 3 after `fail_after` bytes, or
// stops at `pause_after` bytes until its Gate is released.
struct Generator {
    uint64_t size = 0;
    uint64_t seed = 1;
    std::optional<uint64_t> fail_after;
    std::optional<uint64_t> pause_after;
    std::filesystem::path gate_dir;  // with pause_after
    std::vector<std::string> argv() const;

    static Generator stream(uint64_t size, uint64_t seed) {
        Generator g;
        g.size = size;
        g.seed = seed;
        return g;
    }
    Generator failing_after(uint64_t bytes) const {
        Generator g = *this;
        g.fail_after = bytes;
        return g;
    }
    Generator pausing_after(uint64_t bytes, const std::filesystem::path& gate) const {
        Generator g = *this;
        g.pause_after = bytes;
        g.gate_dir = gate;
        return g;
    }
};

// Where a generator pauses: a directory with a fifo. The generator writes its pid to `reached` once its first
// `pause_after` bytes are written (and flushed into the pipe), then blocks opening the fifo until release().
class Gate {
  public:
    explicit Gate(std::filesystem::path dir);
    ~Gate();
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;
    const std::filesystem::path& dir() const { return dir_; }
    // Waits (up to 5 minutes, for slow machines) until the generator got there; throws if it never does.
    void wait_reached();
    pid_t generator_pid() const { return generator_pid_; }
    // Lets the generator go on (or, if its reader is gone, die of SIGPIPE). Safe to call twice.
    void release();

  private:
    std::filesystem::path dir_;
    pid_t generator_pid_ = 0;
    bool released_ = false;
};

// A process that exists and is not a zombie.
bool process_alive(pid_t pid);

// What the kit's own program does when a pipeline runs it rather than GoogleTest (`--testkit-…` arguments).
// Returns the exit code, or nullopt when the arguments are not the kit's.
std::optional<int> run_helper_mode(int argc, char** argv);

// The program that prints the length and a 64-bit FNV-1a hash of environment variable `name` (never the value) and
// touches `ran` when it runs: a source that proves a secret arrived without writing the secret anywhere.
std::vector<std::string> env_digest_argv(const std::string& name, const std::filesystem::path& ran);
std::string env_digest_of(std::string_view value);

// ---- Running backhaul ---------------------------------------------------------------------------------------------

// The `backhaul` of the SDK this kit belongs to.
const std::string& backhaul_binary();
// `extra` plus BACKHAUL_PLUGIN_PATH naming the directory the plugin under test was built into.
Environment backhaul_environment(const Environment& extra);
CommandResult backhaul(const std::vector<std::string>& args, const Environment& extra = {});

// The running test as letters, digits and '-' (suite, test, parameter, pid): unique on the machine, so that tests
// running at the same time never share a prefix, directory or bucket.
std::string test_id();
// This program's comm name (what /proc and the secret leak scanner call it).
std::string program_name();

// A TOML basic string: quoted, with `"`, `\` and control characters escaped.
std::string toml_quoted(std::string_view text);
std::string toml_array(const std::vector<std::string>& items);

}  // namespace backhaul::testkit
