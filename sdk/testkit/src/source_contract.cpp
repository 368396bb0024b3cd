// The source contract (KIND source): through the real `backhaul`, the source between nothing and sink-local:
//   - `validate` accepts the options `run` accepts;
//   - a run stores one backup that the target judges with its own tools, and verify reads it back;
//   - the source's credential is never in the output, the backup, a command line or a foreign environment;
//   - a failing source fails the run and nothing is stored.
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

SourceTarget& target() {
    static std::unique_ptr<SourceTarget> instance = make_source_target();
    return *instance;
}

class SourceContract : public ::testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(target_dir());
        std::filesystem::create_directories(store());
    }

    std::string pipeline(const SourceSetup& setup) {
        const std::string text = "name = \"kit\"\nlock_dir = " + toml_quoted((work_.path() / "locks").string()) +
                                 "\n\n[source]\nplugin = " + toml_quoted(target().plugin()) + "\n" + setup.options +
                                 "\n\n[sink]\nplugin = \"sink-local\"\npath = " + toml_quoted(store().string()) +
                                 "\nfsync = false\nkey = \"kit/%Y%m%d-%H%M%S{ext}\"\n";
        const std::filesystem::path file = work_.path() / "pipeline.toml";
        write_file(file, text);
        return file.string();
    }
    std::filesystem::path target_dir() const { return work_.path() / "target"; }
    std::filesystem::path store() const { return work_.path() / "store"; }

    // Runs backhaul; with a credential in the setup, under the leak scanner.
    CommandResult run(const std::vector<std::string>& args, const SourceSetup& setup) {
        if (setup.secret.empty()) return backhaul(args, setup.environment);
        std::set<std::string> may_hold(setup.programs_given_the_secret.begin(), setup.programs_given_the_secret.end());
        for (const auto& [name, text] : setup.environment)
            if (text.find(setup.secret) != std::string::npos) may_hold.insert("backhaul");
        SecretLeakScanner scanner(setup.secret, may_hold);
        CommandResult result = backhaul(args, setup.environment);
        EXPECT_THAT(scanner.stop(), IsEmpty()) << "the source's credential leaked into a process";
        EXPECT_THAT(result.out, Not(HasSubstr(setup.secret)));
        EXPECT_THAT(result.err, Not(HasSubstr(setup.secret)));
        return result;
    }

    TempDir work_;
};

TEST_F(SourceContract, ValidateAcceptsTheOptionsRunAccepts) {
    const SourceSetup setup = target().prepare(target_dir());
    CommandResult validate = run({"validate", pipeline(setup)}, setup);
    EXPECT_EQ(validate.exit_code, 0) << validate.out << validate.err;
}

TEST_F(SourceContract, StoresOneBackupThatTheTargetAccepts) {
    const SourceSetup setup = target().prepare(target_dir());
    const std::string file = pipeline(setup);
    CommandResult result = run({"--log-level", "debug", "run", file}, setup);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::vector<std::string> objects;
    for (const std::string& name : files_below(store()))
        if (!name.ends_with(".manifest.json")) objects.push_back(name);
    ASSERT_EQ(objects.size(), 1u) << "expected one backup next to its manifest";
    const std::string backup = read_file(store() / objects.front());
    if (!setup.secret.empty()) {
        for (const std::string& name : files_below(store()))
            EXPECT_THAT(read_file(store() / name), Not(HasSubstr(setup.secret))) << name;
    }
    target().check_backup(target_dir(), backup);
    CommandResult verify = run({"verify", file}, setup);
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_F(SourceContract, AFailingSourceFailsTheRunAndStoresNothing) {
    const std::optional<SourceSetup> failing = target().prepare_failing(target_dir());
    if (!failing) GTEST_SKIP() << target().plugin() << " cannot fail once its options are valid (its target says so)";
    const SourceSetup& setup = *failing;
    CommandResult result = run({"run", pipeline(setup)}, setup);
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_THAT(result.err, HasSubstr("source"));
    EXPECT_THAT(files_below(store()), IsEmpty());
}

}  // namespace
}  // namespace backhaul::testkit
