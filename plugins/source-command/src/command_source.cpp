// source-command: the backup is the standard output of a command (argv, no shell); a restore pipes the stream into
// another command's standard input.
#include <backhaul/sdk.hpp>
#include <backhaul/support/process/child_process.hpp>
#include <memory>

namespace backhaul {
namespace {

const bh_option_spec kOptions[] = {
    {"command", BH_OPT_LIST, BH_OPT_REQUIRED | BH_OPT_ARGV, nullptr, nullptr,
     "Program and arguments whose standard output is the backup; run directly, not through a shell."},
    {"restore_command", BH_OPT_LIST, BH_OPT_ARGV, nullptr, nullptr,
     "Program and arguments that read a backup on standard input, for `backhaul restore`."},
    {"env", BH_OPT_TABLE, 0, nullptr, nullptr, "Extra environment variables for both commands."},
    {"working_dir", BH_OPT_STRING, 0, nullptr, nullptr, "Directory both commands run in; default: the current one."},
};

// Checked by the host before create (and by `backhaul validate`).
const bh_option_limits kLimits[] = {
    {"command", BH_LIMIT_MIN, 1, 0},
    {"restore_command", BH_LIMIT_MIN, 1, 0},
    {"working_dir", BH_LIMIT_MIN, 1, 0},
};

struct CommandSettings {
    std::vector<std::pair<std::string, std::string>> env;
    std::optional<std::string> working_dir;
};

ChildSpec make_spec(std::vector<std::string> argv, const CommandSettings& settings, const Host& host) {
    ChildSpec spec;
    spec.argv = std::move(argv);
    spec.env = settings.env;
    spec.working_dir = settings.working_dir;
    std::string program = spec.argv.front();
    spec.on_stderr_line = [host, program](std::string_view line) { host.info(program + ": " + std::string(line)); };
    return spec;
}

class CommandStream final : public SourceStream {
  public:
    CommandStream(ChildSpec spec, Host host) : host_(host), child_(std::move(spec)) {}

    size_t read(std::span<uint8_t> buffer) override {
        auto cancelled = [this] { return host_.cancelled(); };
        size_t n = child_.read_stdout(buffer, cancelled);
        // End of output is not success yet: only the exit status says the dump is complete.
        if (n == 0) child_.wait_successfully(cancelled);
        return n;
    }

  private:
    Host host_;
    ChildProcess child_;  // destroyed before end of stream = terminated and reaped
};

class CommandRestore final : public RestoreTarget {
  public:
    CommandRestore(ChildSpec spec, Host host) : host_(host), child_(std::move(spec)) {}

    void write(std::span<const uint8_t> data) override {
        child_.write_stdin(data, [this] { return host_.cancelled(); });
    }
    void finish() override {
        child_.close_stdin();
        child_.wait_successfully([this] { return host_.cancelled(); });
    }

  private:
    Host host_;
    ChildProcess child_;  // destroyed without finish() = killed, so a partial restore is not completed
};

class CommandSource final : public Source {
  public:
    // A program name that is empty can never run.
    static void validate(const Options& options, Problems& problems) {
        for (const char* name : {"command", "restore_command"}) {
            if (!options.known(name)) continue;
            const std::vector<std::string> argv = options.list(name);
            if (!argv.empty() && argv.front().empty()) problems.add(name, "the program (first entry) is empty");
        }
    }

    CommandSource(Host host, const Options& options) : host_(host), command_(options.list("command")) {
        if (options.has("restore_command")) restore_command_ = options.list("restore_command");
        if (options.has("env")) settings_.env = options.table("env");
        settings_.working_dir = options.optional_string("working_dir");
    }

    std::unique_ptr<SourceStream> open() override {
        return std::make_unique<CommandStream>(make_spec(command_, settings_, host_), host_);
    }

    std::unique_ptr<RestoreTarget> restore(const Options&) override {
        if (restore_command_.empty())
            throw Error(Status::fatal,
                        "source-command: option 'restore_command' is not set; use --output to restore to a file");
        ChildSpec spec = make_spec(restore_command_, settings_, host_);
        spec.input = ChildSpec::Input::pipe;
        // What a restore command prints is for the operator, as if it ran in the shell; our stdout may be a pipe.
        spec.output = ChildSpec::Output::parent_stderr;
        return std::make_unique<CommandRestore>(std::move(spec), host_);
    }

  private:
    Host host_;
    std::vector<std::string> command_;
    std::vector<std::string> restore_command_;
    CommandSettings settings_;
};

const PluginInfo kInfo{
    .name = "source-command",
    .version = "0.1.0",
    .description = "Backs up the standard output of a command; restores by piping into another command.",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::CommandSource, backhaul::kInfo)
