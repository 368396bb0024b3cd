// The secret provider contract (KIND secret): through the real `backhaul`, a pipeline whose source receives the
// secret in its environment (`env = { KIT_SECRET = "${secret:kit.FIELD}" }`) and stores only its length and a hash:
//   - the value arrives exactly, spaces, quotes, `$` and non-ASCII letters included;
//   - it is never in backhaul's output or logs (text and JSON, at debug level), nor in the manifest, nor in the
//     command line of any process or the environment of any but the source that asked for it;
//   - `check` fetches it and shows nothing of it;
//   - a secret the backend does not have fails the run before the source starts, and nothing is stored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "backhaul/testkit/kit.hpp"
#include "backhaul/testkit/secret_leak_scanner.hpp"

namespace backhaul::testkit {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

SecretTarget& target() {
    static std::unique_ptr<SecretTarget> instance = make_secret_target();
    return *instance;
}

class SecretContract : public ::testing::Test {
  protected:
    void SetUp() override {
        value_ = unique_secret("Kit secret with spaces, \"quotes\", 'single', $HOME and \xc3\xbc\xc3\xb1\xc3\xaf");
        std::filesystem::create_directories(work_.path() / "target");
        std::filesystem::create_directories(store());
    }

    std::string pipeline(const SecretSetup& setup) {
        const std::string text =
            "name = \"kit\"\nlock_dir = " + toml_quoted((work_.path() / "locks").string()) +
            "\n\n[secrets.kit]\nplugin = " + toml_quoted(target().plugin()) + "\n" + setup.options +
            "\n\n[source]\nplugin = \"source-command\"\ncommand = " + toml_array(env_digest_argv("KIT_SECRET", ran())) +
            "\nenv = { KIT_SECRET = \"${secret:kit." + setup.field +
            "}\" }\n\n[sink]\nplugin = \"sink-local\"\npath = " + toml_quoted(store().string()) +
            "\nfsync = false\nkey = \"kit/%Y%m%d-%H%M%S{ext}\"\n";
        const std::filesystem::path file = work_.path() / "pipeline.toml";
        write_file(file, text);
        return file.string();
    }
    std::filesystem::path store() const { return work_.path() / "store"; }
    std::filesystem::path ran() const { return work_.path() / "source-ran"; }

    // Runs backhaul while the leak scanner watches every process; a finding fails the test.
    CommandResult watched(const std::vector<std::string>& args, const SecretSetup& setup) {
        // The source asked for the value in its environment. A backend that is backhaul's own environment
        // (secret-env) puts it in backhaul's too; no other process may ever hold it.
        std::set<std::string> may_hold = {program_name()};
        for (const auto& [name, text] : setup.environment)
            if (text.find(value_) != std::string::npos) may_hold.insert("backhaul");
        SecretLeakScanner scanner(value_, may_hold);
        CommandResult result = backhaul(args, setup.environment);
        EXPECT_THAT(scanner.stop(), IsEmpty()) << "the secret leaked into a process";
        EXPECT_THAT(result.out, Not(HasSubstr(value_)));
        EXPECT_THAT(result.err, Not(HasSubstr(value_)));
        return result;
    }
    // Every stored file's bytes: the source's digest line and the manifest.
    std::vector<std::string> stored_files() const {
        std::vector<std::string> contents;
        for (const std::string& name : files_below(store())) contents.push_back(read_file(store() / name));
        return contents;
    }

    TempDir work_;
    std::string value_;
};

TEST_F(SecretContract, DeliversTheValueExactlyAndNeverShowsIt) {
    const SecretSetup setup = target().prepare(work_.path() / "target", value_);
    const std::string file = pipeline(setup);
    CommandResult run = watched({"--log-level", "debug", "run", file}, setup);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::vector<std::string> files = stored_files();
    ASSERT_EQ(files.size(), 2u);  // the backup and its manifest
    EXPECT_THAT(files, ::testing::Contains(env_digest_of(value_))) << "the source did not receive the exact value";
    for (const std::string& contents : files) EXPECT_THAT(contents, Not(HasSubstr(value_)));
}

TEST_F(SecretContract, JsonLogsNeverCarryTheValue) {
    const SecretSetup setup = target().prepare(work_.path() / "target", value_);
    CommandResult run = watched({"--log-format", "json", "--log-level", "debug", "run", pipeline(setup)}, setup);
    EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST_F(SecretContract, CheckFetchesTheSecretAndShowsNothingOfIt) {
    const SecretSetup setup = target().prepare(work_.path() / "target", value_);
    CommandResult check = watched({"--log-level", "debug", "check", pipeline(setup)}, setup);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(SecretContract, AMissingSecretFailsTheRunBeforeTheSourceStarts) {
    const SecretSetup setup = target().prepare_missing(work_.path() / "target");
    CommandResult run = watched({"run", pipeline(setup)}, setup);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("kit"));  // names the secret
    EXPECT_FALSE(std::filesystem::exists(ran())) << "the source ran without its secret";
    EXPECT_THAT(files_below(store()), IsEmpty());
}

}  // namespace
}  // namespace backhaul::testkit
