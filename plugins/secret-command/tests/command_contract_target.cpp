// secret-command under the secret contract (sdk/testkit): a script prints the value, as pass or a vault CLI would.
#include <backhaul/testkit/process.hpp>
#include <backhaul/testkit/targets.hpp>
#include <filesystem>

namespace {

class CommandSecretTarget : public backhaul::testkit::SecretTarget {
  public:
    std::string plugin() const override { return "secret-command"; }
    backhaul::testkit::SecretSetup prepare(const std::filesystem::path& work_dir, const std::string& value) override {
        // The value lives in a file the script prints: never in the script's own command line.
        backhaul::testkit::write_file(work_dir / "value", value + "\n");
        return setup_for(work_dir, "exec cat \"$(dirname \"$0\")/value\"\n");
    }
    backhaul::testkit::SecretSetup prepare_missing(const std::filesystem::path& work_dir) override {
        return setup_for(work_dir, "echo 'Error: kit/password is not in the password store.' >&2\nexit 1\n");
    }

  private:
    static backhaul::testkit::SecretSetup setup_for(const std::filesystem::path& work_dir, const std::string& body) {
        const std::filesystem::path script = work_dir / "print-secret";
        backhaul::testkit::write_file(script, "#!/bin/sh\n" + body);
        std::filesystem::permissions(script, std::filesystem::perms::owner_all);
        backhaul::testkit::SecretSetup setup;
        setup.options = "command = [\"" + script.string() + "\"]\n";
        setup.field = "value";
        return setup;
    }
};

}  // namespace

BACKHAUL_TESTKIT_SECRET(CommandSecretTarget)
