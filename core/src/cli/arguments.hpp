// The parsed command line, shared by the command implementations.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace backhaul {

struct Arguments {
    std::vector<std::string> positional;
    std::vector<std::string> rest;  // options not consumed globally, in order
    bool help = false;
    bool version = false;
    bool json = false;
};

// Options that never take a value, so that `verify --latest p.toml` keeps p.toml as the pipeline.
inline const std::vector<std::string> kValuelessFlags = {"--dry-run", "--latest", "--no-progress", "--notify"};

struct FlagSpec {
    const char* name;  // "--key"
    bool takes_value;
};

// Parses `rest` against the command's flags ("--name value" or "--name=value"). UsageError for an unknown flag or a
// missing value. Returns name -> value ("" for a flag without a value).
std::map<std::string, std::string> parse_flags(const std::vector<std::string>& rest, std::initializer_list<FlagSpec> flags,
                                               const std::string& command);

// The single PIPELINE argument of a command, or UsageError("usage: <usage>").
std::string pipeline_argument(const Arguments& args, const char* usage);

int cmd_run(const Arguments& args);
int cmd_list(const Arguments& args);
int cmd_verify(const Arguments& args);
int cmd_prune(const Arguments& args);
int cmd_keygen(const Arguments& args);
int cmd_check(const Arguments& args);

}  // namespace backhaul
