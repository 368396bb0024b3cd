// secret-command: real commands (small shell scripts this test writes into its own directory) give the fields; their
// output never appears in an error or the log, whatever way the command fails. Through the real `backhaul` binary: the
// value reaches the stage that asks for it and no output, log or command line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "command_runner.hpp"
#include "secret_fetch.hpp"
#include "secret_leak_scanner.hpp"

namespace backhaul::testing {
namespace {

using harness::SecretFetch;
using harness::Table;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

constexpr const char* kSecret = "s3cr3t-Pa55 word";

class SecretCommandTest : public ::testing::Test {
  protected:
    // An executable shell script in this test's directory; its path.
    std::string script(const std::string& body) {
        const std::filesystem::path path = dir_ / ("script" + std::to_string(++scripts_) + ".sh");
        write_file(path, "#!/bin/sh\n" + body + "\n");
        ::chmod(path.c_str(), 0700);
        return path.string();
    }
    SecretFetch fetch(const harness::OptionList& options) {
        static harness::Plugin plugin("secret-command");
        return harness::fetch_secret(plugin, options);
    }
    // Nothing the plugin said, in an error or a log line, holds the secret.
    static void expect_no_secret(const SecretFetch& r) {
        EXPECT_THAT(r.error, Not(HasSubstr(kSecret)));
        EXPECT_THAT(r.log, Not(HasSubstr(kSecret)));
    }

    TempDir dir_;
    int scripts_ = 0;
};

TEST_F(SecretCommandTest, TheWholeOutputIsOneFieldWithOneTrailingNewlineRemoved) {
    SecretFetch r = fetch({{"command", std::vector<std::string>{script("printf '%s\\n' \"$1\"\n"), kSecret}}});
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("value", kSecret)));
    expect_no_secret(r);

    // Only one newline goes (a value may end in whitespace), CRLF counts as one, and the field can be named.
    SecretFetch two =
        fetch({{"command", std::vector<std::string>{script("printf 'a b \\n\\n'\n")}}, {"field", "password"}});
    ASSERT_EQ(two.status, BH_OK) << two.error;
    EXPECT_THAT(two.fields, ElementsAre(Pair("password", "a b \n")));
    SecretFetch crlf = fetch({{"command", std::vector<std::string>{script("printf 'x\\r\\n'\n")}}});
    EXPECT_THAT(crlf.fields, ElementsAre(Pair("value", "x")));
}

TEST_F(SecretCommandTest, JsonAndEnvOutputGiveOneFieldPerMember) {
    SecretFetch json =
        fetch({{"command", std::vector<std::string>{script(std::string("echo '{\"user\": \"app\", \"password\": \"") +
                                                           kSecret + "\", \"port\": 5432}'\n")}},
               {"format", "json"}});
    ASSERT_EQ(json.status, BH_OK) << json.error;
    EXPECT_THAT(json.fields, ElementsAre(Pair("password", kSecret), Pair("port", "5432"), Pair("user", "app")));
    expect_no_secret(json);

    SecretFetch env = fetch({{"command", std::vector<std::string>{script(
                                             std::string("echo 'DB_USER=app'\necho 'DB_PASSWORD=") + kSecret + "'\n")}},
                             {"format", "env"}});
    ASSERT_EQ(env.status, BH_OK) << env.error;
    EXPECT_THAT(env.fields, ElementsAre(Pair("DB_PASSWORD", kSecret), Pair("DB_USER", "app")));
}

TEST_F(SecretCommandTest, OutputThatIsNotJsonIsRefusedWithoutQuotingIt) {
    SecretFetch r =
        fetch({{"command", std::vector<std::string>{script(std::string("echo '{\"password\": ") + kSecret + "'\n")}},
               {"format", "json"}});
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_THAT(r.error, HasSubstr("is not valid JSON"));
    EXPECT_THAT(r.error, HasSubstr("output of command '"));
    expect_no_secret(r);
}

TEST_F(SecretCommandTest, AFailingCommandGivesItsStatusAndScrubbedStderrNeverItsOutput) {
    // The command prints the secret, echoes it on stderr too (set -x style), then fails.
    SecretFetch r = fetch(
        {{"command", std::vector<std::string>{script(std::string("echo '") + kSecret + "'\necho 'token: " + kSecret +
                                                     "' >&2\necho 'vault: permission denied' >&2\nexit 3\n")}}});
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_THAT(r.error, HasSubstr("exited with status 3"));
    EXPECT_THAT(r.error, HasSubstr("vault: permission denied"));
    EXPECT_THAT(r.error, HasSubstr("token: <redacted>"));
    expect_no_secret(r);
}

TEST_F(SecretCommandTest, EmptyOversizedMissingAndHangingCommandsAreOneLineErrors) {
    SecretFetch empty = fetch({{"command", std::vector<std::string>{script("echo\n")}}});
    EXPECT_EQ(empty.status, BH_FATAL);
    EXPECT_THAT(empty.error, HasSubstr("printed an empty secret"));

    SecretFetch huge = fetch({{"command", std::vector<std::string>{"head", "-c", "2000000", "/dev/zero"}}});
    EXPECT_EQ(huge.status, BH_FATAL);
    EXPECT_THAT(huge.error, HasSubstr("printed more than 1 MiB"));

    SecretFetch missing = fetch({{"command", std::vector<std::string>{(dir_ / "no-such-program").string()}}});
    EXPECT_EQ(missing.status, BH_FATAL);
    EXPECT_THAT(missing.error, HasSubstr("cannot start command"));

    // A command that never ends (waiting for a prompt that never comes) is stopped after `timeout`.
    SecretFetch hang = fetch({{"command", std::vector<std::string>{"sleep", "600"}}, {"timeout", 1000}});
    EXPECT_EQ(hang.status, BH_FATAL);
    EXPECT_EQ(hang.error, "command 'sleep' did not finish within 1 s (option 'timeout')");
}

TEST_F(SecretCommandTest, TheCommandGetsEnvAndWorkingDirButNotOurEnvironment) {
    setenv("BH_TEST_PARENT_SECRET", "parent-only", 1);
    SecretFetch r =
        fetch({{"command", std::vector<std::string>{script("printf '%s|%s|%s' \"$VAULT_ADDR\" "
                                                           "\"${BH_TEST_PARENT_SECRET:-unset}\" \"$(pwd)\"\n")}},
               {"env", Table{{"VAULT_ADDR", "https://vault.example"}}},
               {"working_dir", dir_.path().string()}});
    unsetenv("BH_TEST_PARENT_SECRET");
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("value", "https://vault.example|unset|" + dir_.path().string())));
}

// ---- Through the real binary: the field lookup, the argv rule, and the leak test ---------------------------------

class SecretCommandPipelineTest : public SecretCommandTest {
  protected:
    void SetUp() override { std::filesystem::create_directories(dir_ / "sink"); }

    // secret-command -> source-command (the field reaches the child only as $PW, which it hashes) -> sink-local.
    std::filesystem::path pipeline(const std::string& secret_options, const std::string& field) {
        const std::string text = "name = \"secretcommand\"\n\n[secrets.db]\nplugin = \"secret-command\"\n" +
                                 secret_options +
                                 "\n\n[source]\nplugin = \"source-command\"\n"
                                 "command = [\"sh\", \"-c\", \"printf %s \\\"$PW\\\" | sha256sum\"]\n"
                                 "env = { PW = \"${secret:db." +
                                 field + "}\" }\n\n[sink]\nplugin = \"sink-local\"\npath = \"" +
                                 (dir_ / "sink").string() + "\"\nkey = \"out\"\n";
        write_file(dir_ / "pipeline.toml", text);
        return dir_ / "pipeline.toml";
    }

    CommandResult run(const std::filesystem::path& file) {
        // The source child gets the password in its environment ($PW) on purpose; anywhere else is a leak.
        SecretLeakScanner scanner(password_, {"sh", "sha256sum"});
        CommandResult result = run_command({BACKHAUL_BINARY, "--log-level", "debug", "run", file.string()});
        EXPECT_THAT(scanner.stop(), IsEmpty());
        EXPECT_GT(scanner.passes(), 0);
        EXPECT_THAT(result.out, Not(HasSubstr(password_)));
        EXPECT_THAT(result.err, Not(HasSubstr(password_)));
        return result;
    }

    // What source-command stored: the SHA-256 of the password it got, as sha256sum prints it.
    void expect_the_stage_got_the_password() {
        CommandOptions hash_input;
        hash_input.stdin_data = password_;
        EXPECT_EQ(read_file(dir_ / "sink" / "out"), run_command({"sha256sum"}, hash_input).out);
    }

    const std::string password_ = unique_secret("Cmd-Distinctive-Pa55w0rd");
};

TEST_F(SecretCommandPipelineTest, AJsonFieldReachesTheStage) {
    const std::string command = "command = [\"" +
                                script("printf '{\"user\": \"backup\", \"password\": \"%s\"}' '" + password_ + "'") +
                                "\"]\nformat = \"json\"";
    CommandResult r = run(pipeline(command, "password"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_the_stage_got_the_password();
}

TEST_F(SecretCommandPipelineTest, AnAbsentFieldIsNamedWithTheFieldsThatExist) {
    const std::string json = "command = [\"" +
                             script("printf '{\"user\": \"backup\", \"token\": \"%s\"}' '" + password_ + "'") +
                             "\"]\nformat = \"json\"";
    CommandResult r = run(pipeline(json, "password"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("secrets.db: no field 'password' (fields: token, user)"));
    EXPECT_THAT(files_below(dir_ / "sink"), IsEmpty());

    const std::string value = "command = [\"" + script("printf '%s' '" + password_ + "'") + "\"]";
    CommandResult plain = run(pipeline(value, "password"));
    EXPECT_EQ(plain.exit_code, 1) << plain.err;
    EXPECT_THAT(plain.err, HasSubstr("secrets.db: no field 'password' (fields: value)"));
}

TEST_F(SecretCommandPipelineTest, AFailingCommandFailsTheRunNamingTheStage) {
    const std::string command =
        "command = [\"" + script("echo \"denied: " + password_ + "\" >&2\nprintf '%s' '" + password_ + "'\nexit 4") +
        "\"]";
    CommandResult r = run(pipeline(command, "value"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("secrets.db (secret-command): command '"));
    EXPECT_THAT(r.err, HasSubstr("' exited with status 4: denied: <redacted>"));
    EXPECT_THAT(files_below(dir_ / "sink"), IsEmpty());
}

// A ${secret:...} in `command` would be on the child's command line. A secret's options cannot read other secrets
// at all (they are fetched first, with ${env:...} only), so the core refuses it before anything runs, at its position.
TEST_F(SecretCommandPipelineTest, ASecretInTheCommandIsRefusedBeforeAnythingRuns) {
    ::setenv("BH_SECRET_COMMAND_TEST_TOKEN", "not-used", 1);
    const std::string ran = (dir_ / "ran").string();
    const std::string text =
        "name = \"secretcommand\"\n\n[secrets.token]\nplugin = \"secret-env\"\n"
        "fields = { value = \"BH_SECRET_COMMAND_TEST_TOKEN\" }\n\n"
        "[secrets.db]\nplugin = \"secret-command\"\ncommand = [\"touch\", \"" +
        ran +
        "\", \"${secret:token.value}\"]\n\n"
        "[source]\nplugin = \"source-command\"\ncommand = [\"true\"]\n\n[sink]\nplugin = \"sink-local\"\npath = \"" +
        (dir_ / "sink").string() + "\"\nkey = \"out\"\n";
    write_file(dir_ / "pipeline.toml", text);
    const std::string file = (dir_ / "pipeline.toml").string();
    for (const char* verb : {"validate", "run"}) {
        CommandResult r = run_command({BACKHAUL_BINARY, verb, file});
        EXPECT_EQ(r.exit_code, 2) << verb << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr(file + ":9:"));
        EXPECT_THAT(r.err, HasSubstr("secrets.db (secret-command): option 'command': reference to undefined secret "
                                     "'token'"));
    }
    EXPECT_FALSE(std::filesystem::exists(ran));
    ::unsetenv("BH_SECRET_COMMAND_TEST_TOKEN");
}

}  // namespace
}  // namespace backhaul::testing
