// The AWS CLI's credential chain (aws/credential_chain.hpp) and the shared-file parser under it: precedence, each
// file's section naming, strict parsing with PATH:LINE errors, and credential_process as a real child process
// (shell scripts written by the test), including an expired result and renewal before expiry on an injected clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <backhaul/sdk.hpp>
#include <backhaul/support/aws/credential_chain.hpp>
#include <backhaul/support/aws/shared_config.hpp>
#include <map>

#include "command_runner.hpp"

namespace backhaul::aws {
namespace {

using std::chrono::system_clock;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

const system_clock::time_point kNow = *parse_iso8601("2030-01-01T00:00:00Z");

class CredentialChain : public ::testing::Test {
  protected:
    // Only what a test sets: nothing of the machine's own AWS setup (HOME points into the test's directory).
    Environment environment() {
        return [this](const std::string& name) -> std::optional<std::string> {
            auto it = env_.find(name);
            if (it == env_.end()) return std::nullopt;
            return it->second;
        };
    }
    ResolvedCredentials resolve(const CredentialOptions& options = {}) {
        return resolve_credentials(options, environment(), {}, kNow);
    }
    std::string failure(const CredentialOptions& options = {}) {
        try {
            resolve(options);
        } catch (const Error& e) {
            return e.what();
        }
        return "(resolved)";
    }
    std::string home(const std::string& file) { return (tmp_.path() / ".aws" / file).string(); }
    // An executable script that prints `json`, and counts its runs in `runs`.
    std::string script(const std::string& name, const std::string& body) {
        std::filesystem::path path = tmp_.path() / name;
        write_file(path, "#!/bin/sh\n" + body);
        ::chmod(path.c_str(), 0700);
        return path.string();
    }

    TempDir tmp_;
    std::map<std::string, std::string> env_{{"HOME", tmp_.path().string()}};
};

TEST_F(CredentialChain, OptionsComeFirst) {
    env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
    write_file(home("credentials"), "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
    ResolvedCredentials got = resolve({Credentials{"OPTKEY", "optsecret", "opttoken"}, ""});
    EXPECT_EQ(got.credentials.access_key, "OPTKEY");
    EXPECT_EQ(got.credentials.session_token, "opttoken");
    EXPECT_EQ(got.source, "the access_key and secret_key options");
}

TEST_F(CredentialChain, EnvironmentBeforeFilesAndAwsProfile) {
    env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
    env_["AWS_SESSION_TOKEN"] = "envtoken";
    env_["AWS_PROFILE"] = "other";
    write_file(home("credentials"), "[other]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
    ResolvedCredentials got = resolve();
    EXPECT_EQ(got.credentials.access_key, "ENVKEY");
    EXPECT_EQ(got.credentials.secret_key, "envsecret");
    EXPECT_EQ(got.credentials.session_token, "envtoken");
    EXPECT_EQ(got.source, "environment (AWS_ACCESS_KEY_ID)");
    EXPECT_FALSE(got.expiration);
}

// `aws --profile x` ignores AWS_ACCESS_KEY_ID; the profile option does the same.
TEST_F(CredentialChain, ProfileOptionSkipsTheEnvironment) {
    env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
    write_file(home("credentials"), "[other]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
    ResolvedCredentials got = resolve({std::nullopt, "other"});
    EXPECT_EQ(got.credentials.access_key, "FILEKEY");
    EXPECT_EQ(got.source, "profile 'other' in " + home("credentials"));
}

TEST_F(CredentialChain, HalfAPairInTheEnvironmentIsAnError) {
    env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    EXPECT_EQ(failure(), "the environment has AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY");
    env_.erase("AWS_ACCESS_KEY_ID");
    env_["AWS_SECRET_ACCESS_KEY"] = "x";
    EXPECT_EQ(failure(), "the environment has AWS_SECRET_ACCESS_KEY without AWS_ACCESS_KEY_ID");
    // Empty is unset, as for the AWS CLI.
    env_["AWS_SECRET_ACCESS_KEY"] = "";
    EXPECT_THAT(failure(), HasSubstr("no credentials: "));
}

TEST_F(CredentialChain, CredentialsFileThenConfigFileWithTheirSectionNames) {
    env_["AWS_PROFILE"] = "prod";
    write_file(home("config"),
               "[prod]\naws_access_key_id = NOTAPROFILE\naws_secret_access_key = x\n"
               "[profile prod]\nregion = kr-standard\naws_access_key_id = CONFIGKEY\n"
               "aws_secret_access_key = configsecret\naws_session_token = configtoken\n");
    ResolvedCredentials got = resolve();
    EXPECT_EQ(got.credentials.access_key, "CONFIGKEY");
    EXPECT_EQ(got.credentials.session_token, "configtoken");
    EXPECT_EQ(got.source, "profile 'prod' in " + home("config"));

    // The credentials file wins, and there `[profile prod]` is a profile called "profile prod".
    write_file(home("credentials"),
               "[profile prod]\naws_access_key_id = WRONG\naws_secret_access_key = x\n"
               "[prod]\naws_access_key_id = CREDKEY\naws_secret_access_key = credsecret\n");
    got = resolve();
    EXPECT_EQ(got.credentials.access_key, "CREDKEY");
    EXPECT_EQ(got.credentials.session_token, "");
    EXPECT_EQ(got.source, "profile 'prod' in " + home("credentials"));
}

TEST_F(CredentialChain, FilesNamedByTheEnvironmentAndDefaultProfiles) {
    env_["AWS_SHARED_CREDENTIALS_FILE"] = (tmp_.path() / "elsewhere" / "creds").string();
    env_["AWS_CONFIG_FILE"] = "~/conf";
    write_file(home("credentials"), "[default]\naws_access_key_id = IGNORED\naws_secret_access_key = x\n");
    write_file(tmp_.path() / "conf", "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = d\n");
    ResolvedCredentials got = resolve();
    EXPECT_EQ(got.credentials.access_key, "DEFAULTKEY");
    EXPECT_EQ(got.source, "profile 'default' in " + (tmp_.path() / "conf").string());
    write_file(tmp_.path() / "elsewhere" / "creds",
               "[default]\naws_access_key_id = NAMED\naws_secret_access_key = n\n");
    EXPECT_EQ(resolve().credentials.access_key, "NAMED");
}

TEST_F(CredentialChain, MissingProfilesAndMissingCredentialsSaySo) {
    EXPECT_EQ(failure(),
              "no credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID and "
              "AWS_SECRET_ACCESS_KEY, or a [default] profile in " +
                  home("credentials") + " or " + home("config"));
    EXPECT_EQ(failure({std::nullopt, "nope"}),
              "profile 'nope' is in neither " + home("credentials") + " nor " + home("config"));
    write_file(home("config"), "[profile sso]\nsso_session = corp\nregion = kr-standard\n[profile empty]\n");
    EXPECT_THAT(failure({std::nullopt, "sso"}),
                HasSubstr("profile 'sso' uses sso_session, which backhaul does not follow; give the profile a "
                          "credential_process instead"));
    EXPECT_THAT(failure({std::nullopt, "empty"}),
                HasSubstr("profile 'empty' has no aws_access_key_id/aws_secret_access_key and no credential_process"));
    write_file(home("credentials"), "[default]\naws_access_key_id = HALF\n");
    EXPECT_EQ(failure(),
              "profile 'default' in " + home("credentials") + " has aws_access_key_id without aws_secret_access_key");
}

TEST_F(CredentialChain, ParserFollowsTheAwsCliDialect) {
    IniFile file = parse_ini(
        "# comment\n; another\n\n[default]   # trailing comment\n"
        "AWS_Access_Key_Id=  test:tester  \nregion: kr-standard\n"
        "s3 =\n  max_concurrent_requests = 10\n  aws_secret_access_key = nested\n"
        "[profile   spaced.name]\nx = a = b\n",
        "/f");
    ASSERT_EQ(file.sections.size(), 2u);
    EXPECT_EQ(*file.sections[0].find("aws_access_key_id"), "test:tester");
    EXPECT_EQ(*file.sections[0].find("region"), "kr-standard");
    EXPECT_EQ(*file.sections[0].find("s3"), "");
    EXPECT_EQ(file.sections[0].find("aws_secret_access_key"), nullptr) << "a sub-property is not the profile's key";
    ASSERT_NE(config_profile(file, "spaced.name"), nullptr);
    EXPECT_EQ(*config_profile(file, "spaced.name")->find("x"), "a = b");
    EXPECT_EQ(config_profile(file, "default"), &file.sections[0]);
}

TEST_F(CredentialChain, MalformedFilesNameTheFileAndLine) {
    const auto error = [](const std::string& text) {
        try {
            parse_ini(text, "/etc/aws");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("(parsed)");
    };
    EXPECT_EQ(error("key = value\n"), "/etc/aws:1: 'key' comes before any [section]");
    EXPECT_EQ(error("[a]\nx = 1\n[a]\n"), "/etc/aws:3: section [a] appears twice (first at line 1)");
    EXPECT_EQ(error("[a]\nx = 1\nX = 2\n"), "/etc/aws:3: 'x' appears twice in section [a]");
    EXPECT_EQ(error("[a\n"), "/etc/aws:1: section header without ']'");
    EXPECT_EQ(error("[a] junk\n"), "/etc/aws:1: unexpected text after the section header's ']'");
    EXPECT_EQ(error("[]\n"), "/etc/aws:1: empty section name '[]'");
    EXPECT_EQ(error("[a]\njust words\n"), "/etc/aws:2: expected '[section]' or 'name = value'");
    EXPECT_EQ(error("[a]\n= 1\n"), "/etc/aws:2: a value without a name");
    EXPECT_EQ(error("[a]\nx = 1\n  more\n"), "/etc/aws:3: indented line continues no key; remove the indentation");
    EXPECT_EQ(error("[a]\ns3 =\n  words only\n"), "/etc/aws:3: expected 'name = value' under 's3'");

    write_file(home("credentials"), "[default]\naws_access_key_id = AK\naws_secret_access_key SK\n");
    EXPECT_EQ(failure(), home("credentials") + ":3: expected '[section]' or 'name = value'");
}

TEST_F(CredentialChain, SplitsCommandLinesLikeTheAwsCli) {
    EXPECT_THAT(
        split_command_line("vault kv get -field=json 'secret/ncloud backup' \"a \\\"b\\\" $c\" d\\ e"),
        ::testing::ElementsAre("vault", "kv", "get", "-field=json", "secret/ncloud backup", "a \"b\" $c", "d e"));
    EXPECT_THROW(split_command_line("echo 'open"), std::invalid_argument);
}

TEST_F(CredentialChain, CredentialProcessBeforeTheConfigFileKeys) {
    const std::string helper = script("helper.sh",
                                      "echo '{\"Version\": 1, \"AccessKeyId\": \"PROCKEY\", \"SecretAccessKey\": "
                                      "\"procsecret\", \"SessionToken\": \"proctoken\", \"Expiration\": "
                                      "\"2030-01-01T10:00:00+09:00\"}'\necho 'helper chatter' >&2\n");
    write_file(home("config"), "[profile vault]\ncredential_process = " + helper +
                                   "\naws_access_key_id = CONFIGKEY\naws_secret_access_key = c\n");
    ResolvedCredentials got = resolve({std::nullopt, "vault"});
    EXPECT_EQ(got.credentials.access_key, "PROCKEY");
    EXPECT_EQ(got.credentials.secret_key, "procsecret");
    EXPECT_EQ(got.credentials.session_token, "proctoken");
    EXPECT_EQ(got.source, "credential_process of profile 'vault' in " + home("config"));
    ASSERT_TRUE(got.expiration);
    EXPECT_EQ(*got.expiration, kNow + std::chrono::hours(1));
}

TEST_F(CredentialChain, CredentialProcessResultsAreChecked) {
    write_file(home("config"), "[profile p]\ncredential_process = " +
                                   script("expired.sh",
                                          "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
                                          "\"SecretAccessKey\": \"S\", \"Expiration\": "
                                          "\"2029-12-31T23:00:00Z\"}'\n") +
                                   "\n");
    EXPECT_EQ(failure({std::nullopt, "p"}),
              "credential_process of profile 'p' in " + home("config") +
                  " returned credentials that expired at 2029-12-31T23:00:00Z (now 2030-01-01T00:00:00Z); nothing "
                  "was sent");
    const std::string source = "credential_process of profile 'p' in " + home("config");
    const auto output_error = [&](const std::string& json) {
        write_file(home("config"),
                   "[profile p]\ncredential_process = " + script("out.sh", "cat <<'EOF'\n" + json + "\nEOF\n") + "\n");
        return failure({std::nullopt, "p"});
    };
    EXPECT_EQ(output_error("not json"), source + " did not print a JSON object (9 bytes on standard output)");
    EXPECT_EQ(output_error("{\"Version\": 2}"),
              source + " printed no \"Version\": 1 (the only credential_process format)");
    EXPECT_EQ(output_error("{\"Version\": 1, \"AccessKeyId\": \"A\"}"), source + " printed no \"SecretAccessKey\"");
    EXPECT_EQ(output_error("{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Expiration\": "
                           "\"tomorrow\"}"),
              source + " printed an \"Expiration\" that is not an ISO 8601 time: 'tomorrow'");
    write_file(home("config"), "[profile p]\ncredential_process = " +
                                   script("fails.sh", "echo 'vault: permission denied' >&2\nexit 3\n") + "\n");
    EXPECT_THAT(failure({std::nullopt, "p"}),
                HasSubstr(source + " failed: command '" + (tmp_.path() / "fails.sh").string() +
                          "' exited with status 3: vault: permission denied"));
}

// The helper sees our environment (Vault, SSO and cloud CLIs read their settings there), and its argv is only what
// the profile wrote.
TEST_F(CredentialChain, CredentialProcessGetsTheEnvironmentAndNoSecretArguments) {
    const std::string record = (tmp_.path() / "record").string();
    struct ScopedVariable {
        ScopedVariable() { ::setenv("BACKHAUL_TEST_VAULT_ADDR", "https://vault.example:8200", 1); }
        ~ScopedVariable() { ::unsetenv("BACKHAUL_TEST_VAULT_ADDR"); }
    } vault_addr;
    write_file(home("credentials"),
               "[default]\ncredential_process = " +
                   script("env.sh", "echo \"$BACKHAUL_TEST_VAULT_ADDR $# $1\" > " + record +
                                        "\necho '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
                                        "\"S\"}'\n") +
                   " 'one arg'\n");
    ResolvedCredentials got = resolve();
    EXPECT_EQ(got.source, "credential_process of profile 'default' in " + home("credentials"));
    EXPECT_FALSE(got.expiration);
    EXPECT_EQ(testing::read_file(record), "https://vault.example:8200 1 one arg\n");
}

// Renewal on an injected clock: credentials that live 20 minutes are renewed 10 minutes before they end; a failed
// renewal keeps the old ones (with a warning) until they expire.
TEST_F(CredentialChain, ProviderRenewsBeforeExpiryAndLogsSourcesOnly) {
    const std::string counter = (tmp_.path() / "runs").string();
    const std::string helper = script(
        "counting.sh", "n=$(cat " + counter + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + counter + "\n[ -e " +
                           (tmp_.path() / "broken").string() +
                           " ] && exit 1\n"
                           "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"KEY$n\\\", \\\"SecretAccessKey\\\": "
                           "\\\"secret$n\\\", \\\"Expiration\\\": \\\"2030-01-01T00:$((n * 20)):00Z\\\"}\"\n");
    write_file(home("config"), "[default]\ncredential_process = " + helper + "\n");
    system_clock::time_point now = kNow;
    std::vector<std::string> info, warnings;
    CredentialProvider provider(
        {}, environment(), [&](const std::string& l) { info.push_back(l); },
        [&](const std::string& l) { warnings.push_back(l); }, [&] { return now; });
    EXPECT_EQ(provider.known_source(), "");
    EXPECT_EQ(provider.get({}).access_key, "KEY1");  // valid until 00:20, renewed from 00:10
    now += std::chrono::minutes(9);
    EXPECT_EQ(provider.get({}).access_key, "KEY1");
    now += std::chrono::minutes(2);
    EXPECT_EQ(provider.get({}).access_key, "KEY2");  // until 00:40, renewed from 00:30
    const std::string source = "credential_process of profile 'default' in " + home("config");
    EXPECT_THAT(info,
                ::testing::ElementsAre("credentials from " + source + ", valid until 2030-01-01T00:20:00Z",
                                       "credentials renewed from " + source + ", valid until 2030-01-01T00:40:00Z"));
    write_file(tmp_.path() / "broken", "");
    now = kNow + std::chrono::minutes(31);
    EXPECT_EQ(provider.get({}).access_key, "KEY2");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_THAT(warnings[0], HasSubstr("cannot renew credentials: " + source + " failed: "));
    EXPECT_THAT(warnings[0], HasSubstr("; using those from " + source + " until they expire at 2030-01-01T00:40:00Z"));
    EXPECT_EQ(provider.get({}).access_key, "KEY2") << "no second attempt within a minute";
    EXPECT_EQ(testing::read_file(counter), "3\n");
    now = kNow + std::chrono::minutes(41);
    EXPECT_THROW(provider.get({}), Error);
    for (const std::string& line : info) EXPECT_THAT(line, ::testing::Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace backhaul::aws
