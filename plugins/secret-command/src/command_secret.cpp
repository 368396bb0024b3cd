// secret-command: secret fields from the standard output of a command (argv, no shell), the escape hatch for pass,
// Vault, 1Password, cloud CLIs (restic's --password-command is the model). The output is the secret: it is held in
// wiped memory, bounded, and never quoted in a message; the command line is checked by the host to carry no secret
// (BH_OPT_ARGV), and the child gets the minimal environment of every child plus `env`.
#include <backhaul/sdk.hpp>
#include <backhaul/support/crypto/secure_memory.hpp>
#include <backhaul/support/process/child_process.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "secret_file_format.hpp"

namespace backhaul::secret_command {
namespace {

constexpr const char* kFormats[] = {"value", "json", "env", nullptr};

constexpr bh_option_spec kOptions[] = {
    {"command", BH_OPT_LIST, BH_OPT_REQUIRED | BH_OPT_ARGV, nullptr, nullptr,
     "Program and arguments whose standard output is the secret; run directly, not through a shell. Must not carry "
     "a secret itself."},
    {"format", BH_OPT_ENUM, 0, "\"value\"", kFormats,
     "value (the whole output is one field, one trailing newline removed), json (an object of fields) or env "
     "(KEY=VALUE lines)."},
    {"field", BH_OPT_STRING, 0, "\"value\"", nullptr,
     "The field's name with format = \"value\": ${secret:NAME.FIELD}."},
    {"env", BH_OPT_TABLE, 0, nullptr, nullptr,
     "Extra environment variables for the command (e.g. VAULT_ADDR); our own environment is not passed on."},
    {"working_dir", BH_OPT_STRING, 0, nullptr, nullptr, "Directory the command runs in; default: the current one."},
    {"timeout", BH_OPT_DURATION, 0, "\"60s\"", nullptr,
     "Longest the command may run; it is stopped and the run fails after it (a command waiting for a prompt)."},
};

// Checked by the host before create (and by `backhaul validate`).
constexpr bh_option_limits kLimits[] = {
    {"command", BH_LIMIT_MIN, 1, 0},
    {"field", BH_LIMIT_MIN, 1, 0},
    {"working_dir", BH_LIMIT_MIN, 1, 0},
    {"timeout", BH_LIMIT_MIN | BH_LIMIT_MAX, 1000, 3600 * 1000},
};

// A secret is a few lines; more is a command that prints something else (a whole file, a listing).
constexpr size_t kMaxOutputBytes = 1 << 20;

enum class Format { value, json, env };

// Removes from `text` every occurrence of each line of `output`: the command's stderr may echo what it printed
// (set -x, a debug flag), and the tail of stderr goes into the error message.
std::string without(std::string text, std::string_view output) {
    while (!output.empty()) {
        const size_t end = output.find('\n');
        std::string_view line = output.substr(0, end);
        output = end == std::string_view::npos ? std::string_view() : output.substr(end + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.size() < 4) continue;  // shorter lines would scrub ordinary words
        for (size_t at = text.find(line); at != std::string::npos; at = text.find(line, at))
            text.replace(at, line.size(), "<redacted>");
    }
    return text;
}

class CommandSecret : public SecretProvider {
  public:
    static void validate(const Options& options, Problems& problems) {
        if (options.known("command")) {
            const std::vector<std::string> argv = options.list("command");
            if (!argv.empty() && argv.front().empty()) problems.add("command", "the program (first entry) is empty");
        }
        if (options.known("format") && options.known("field") && options.string("format") != "value" &&
            options.string("field") != "value")
            problems.add("field", "is only for format = \"value\"; json and env name their fields themselves");
    }

    CommandSecret(Host host, const Options& options)
        : host_(host),
          command_(options.list("command")),
          field_(options.string("field")),
          timeout_(options.duration("timeout")) {
        const std::string format = options.string("format");
        format_ = format == "json" ? Format::json : format == "env" ? Format::env : Format::value;
        if (options.has("env")) env_ = options.table("env");
        working_dir_ = options.optional_string("working_dir");
    }

    void fetch(const FieldSink& emit) override {
        const crypto::SecretString output = run();
        if (format_ == Format::value) {
            std::string_view value(output.data(), output.size());
            if (value.ends_with("\r\n"))
                value.remove_suffix(2);
            else if (value.ends_with('\n'))
                value.remove_suffix(1);
            if (value.empty()) throw Error(Status::fatal, "command '" + program() + "' printed an empty secret");
            emit(field_, value);
            return;
        }
        std::vector<secret_file::Field> fields;
        try {
            fields = format_ == Format::json ? secret_file::parse_json_fields(output)
                                             : secret_file::parse_key_value_fields(output);
        } catch (const std::runtime_error& e) {
            // The parsers never quote the text: "is not valid JSON: syntax error at line 1, column 3", "line 2: ...".
            throw Error(Status::fatal, "output of command '" + program() + "' " + e.what());
        }
        for (const secret_file::Field& f : fields) emit(f.name, std::string_view(f.value.data(), f.value.size()));
        host_.debug("command '" + program() + "' gave " + std::to_string(fields.size()) + " field(s)");
    }

  private:
    const std::string& program() const { return command_.front(); }

    crypto::SecretString run() {
        ChildSpec spec;
        spec.argv = command_;
        spec.env = env_;
        spec.working_dir = working_dir_;
        spec.input = ChildSpec::Input::null;  // a command that prompts gets end of input, not our terminal
        spec.output = ChildSpec::Output::pipe;
        // stderr is not logged line by line: a command may print what it fetched there. Its tail, scrubbed, is in
        // the error when the command fails.
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        bool timed_out = false;
        auto stop = [&] {
            if (host_.cancelled()) return true;
            timed_out = std::chrono::steady_clock::now() >= deadline;
            return timed_out;
        };
        // Reserved once, so never regrown and always on the heap: the wiping allocator clears it on every way out.
        crypto::SecretString output;
        output.reserve(kMaxOutputBytes + 1);
        uint8_t buffer[4096];
        // Destroying the child terminates and reaps it, so every throw below also stops the command.
        ChildProcess child(std::move(spec));
        try {
            for (size_t n; (n = child.read_stdout(buffer, stop)) != 0;) {
                if (output.size() + n > kMaxOutputBytes)
                    throw Error(Status::fatal,
                                "command '" + program() + "' printed more than 1 MiB; a secret is a few lines");
                output.append(reinterpret_cast<const char*>(buffer), n);
            }
            ExitStatus status = child.wait(stop);
            if (!status.success()) {
                const std::string_view printed(output.data(), output.size());
                throw Error(Status::fatal, without(child.describe(status), printed));
            }
        } catch (const Error&) {
            OPENSSL_cleanse(buffer, sizeof buffer);
            if (timed_out && !host_.cancelled())
                throw Error(Status::fatal, "command '" + program() + "' did not finish within " +
                                               std::to_string(timeout_.count() / 1000) + " s (option 'timeout')");
            throw;
        }
        OPENSSL_cleanse(buffer, sizeof buffer);
        return output;
    }

    Host host_;
    std::vector<std::string> command_;
    std::string field_;
    std::chrono::milliseconds timeout_;
    Format format_ = Format::value;
    std::vector<std::pair<std::string, std::string>> env_;
    std::optional<std::string> working_dir_;
};

constexpr PluginInfo kInfo{
    .name = "secret-command",
    .version = "0.1.0",
    .description = "Secret fields from a command's output (pass, vault, op, cloud CLIs)",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul::secret_command

BACKHAUL_PLUGIN(backhaul::secret_command::CommandSecret, backhaul::secret_command::kInfo);
