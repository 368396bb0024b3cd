// The leak checks are only as good as the scanner (tests/support/secret_leak_scanner.hpp): it must see a secret in the
// environment of a backhaul this test started, and must not report what it cannot attribute to this test — another
// test's backhaul, or a process it read while that process replaced its program. A stand-in named `backhaul` (a
// symlink to sh or sleep: the kernel names a process after the file it executes) plays the runner.
#include "secret_leak_scanner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "command_runner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

class SecretLeakScannerTest : public ::testing::Test {
  protected:
    // A program named `backhaul` that is `target`.
    std::string stand_in(const std::string& target) {
        const std::filesystem::path link =
            tmp_ / (std::filesystem::path(target).filename().string() + "-as") / "backhaul";
        std::filesystem::create_directories(link.parent_path());
        std::filesystem::create_symlink(target, link);
        return link.string();
    }
    const std::string secret_ = unique_secret("Scanner-Test-Secret");
    TempDir tmp_;
};

// The stand-in lives until the scanner made three full passes over /proc while it ran, not for a fixed time a loaded
// machine could outrun (a 0.3 s sleep was missed under an ASan suite at -j3).
TEST_F(SecretLeakScannerTest, SeesTheEnvironmentOfABackhaulThisTestStarted) {
    SecretLeakScanner scanner(secret_);
    CommandOptions options;
    options.env["PW"] = secret_;
    RunningCommand running({stand_in("/usr/bin/sleep"), "600"}, options);
    scanner.await_passes(3);
    ::kill(running.pid(), SIGTERM);
    running.wait();
    EXPECT_THAT(scanner.stop(), Contains(MatchesRegex("environment of [0-9]+ \\(backhaul\\)")));
}

// What made SeedPipelineTest fail in a parallel run: another test's backhaul holds its secrets in its environment by
// design. Here the other backhaul is an orphan (its shell exited), so it is no descendant of this test process.
TEST_F(SecretLeakScannerTest, IgnoresTheEnvironmentOfABackhaulOutsideThisTestsProcessTree) {
    CommandOptions options;
    options.env["PW"] = secret_;
    CommandResult started = run_command(
        {"sh", "-c", "\"$0\" 60 </dev/null >/dev/null 2>&1 & echo $!", stand_in("/usr/bin/sleep")}, options);
    ASSERT_EQ(started.exit_code, 0) << started.err;
    const pid_t other = std::stoi(started.out);
    SecretLeakScanner scanner(secret_);
    scanner.await_passes(3);
    const std::vector<std::string> findings = scanner.stop();
    ::kill(other, SIGKILL);
    EXPECT_GE(scanner.passes(), 3);
    EXPECT_THAT(findings, IsEmpty());
}

// A backhaul child gets its environment as it executes the next program (source-postgres's pg_dump gets PGPASSWORD):
// read between the two, the process still had backhaul's name and already the new environment. The scanner must
// attribute the environment to the program that has it (sleep, allowed here), never to backhaul. Each round is a
// chance for that interleaving; the old scanner reported "environment of N (backhaul)" in some of them.
TEST_F(SecretLeakScannerTest, AttributesAnEnvironmentToTheProgramThatHasIt) {
    const std::string shell = stand_in("/bin/sh");
    // From a file, not argv or the shell's own environment, where the secret would be a real finding.
    write_file(tmp_ / "secret", secret_);
    SecretLeakScanner scanner(secret_, /*env_allowed=*/{"sleep"});
    for (int round = 0; round < 150; ++round) {
        CommandResult run = run_command(
            {shell, "-c", "read -r PW < \"$0\"; export PW; exec /usr/bin/sleep 0.01", (tmp_ / "secret").string()});
        ASSERT_EQ(run.exit_code, 0) << run.err;
    }
    EXPECT_THAT(scanner.stop(), IsEmpty());
}

}  // namespace
}  // namespace backhaul::testing
