// Where sink-ncloud-s3 takes its keys from when the pipeline leaves access_key/secret_key out, through the real
// `backhaul` binary against Swift's s3api (which checks every SigV4 signature): each source of the AWS CLI's chain
// stores a backup, their precedence, a wrong secret from each source fails with the 403 naming that source, and
// `backhaul check` reports the source. The environment is set for the child `backhaul` only, with every AWS_*
// variable and HOME pinned, so the machine's own AWS setup never leaks in.
//
// Session tokens: Swift 2.30's s3api with tempauth has no STS and ignores X-Amz-Security-Token (nothing in
// swift/common/middleware/s3api reads it), so it cannot refuse a wrong or expired token. What is tested for real:
// the token is sent and signed (Swift verifies the signature over the signed headers, token included, and a proxy
// records the header), an expired credential_process result is refused before any request, and the ExpiredToken /
// InvalidToken answers AWS gives are reported clearly (injected by the proxy: the one case Swift cannot produce).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "command_runner.hpp"
#include "fault_proxy.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kBucket = "credentials";
const S3User kAdmin = SwiftS3::admin;

class SwiftCredentials : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { SwiftS3::instance().create_bucket(kBucket); }
    SwiftS3& s3() { return SwiftS3::instance(); }

    // A pipeline storing one small object under `key` at `endpoint` with `credential_lines` in its sink.
    std::filesystem::path pipeline(const std::string& key, const std::string& credential_lines,
                                   const std::string& endpoint = "") {
        write_file(tmp_ / "input.txt", "backup of " + key + "\n");
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, "name = \"creds\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"cat\", \"" +
                             (tmp_ / "input.txt").string() +
                             "\"]\n\n[sink]\nplugin = \"sink-ncloud-s3\"\n"
                             "endpoint = \"" +
                             (endpoint.empty() ? s3().endpoint() : endpoint) +
                             "\"\nregion = \"us-east-1\"\nbucket = \"" + kBucket + "\"\nkey = \"" + key +
                             "\"\nmax_retries = 0\n" + credential_lines);
        return file;
    }

    // `backhaul ARGS` with HOME in the test's directory and every AWS_* variable unset (empty, which the chain
    // treats as unset, as the AWS CLI does) unless `env` sets it.
    CommandResult backhaul(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        CommandOptions options;
        options.env = {{"HOME", home_.string()},  {"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""},
                       {"AWS_SESSION_TOKEN", ""}, {"AWS_PROFILE", ""},       {"AWS_SHARED_CREDENTIALS_FILE", ""},
                       {"AWS_CONFIG_FILE", ""},   {"LC_ALL", "C.UTF-8"}};
        for (const auto& [name, value] : env) options.env[name] = value;
        return run_command(args, options);
    }

    // Runs a backup to `key` and checks the AWS CLI reads it back; returns the run's log.
    std::string stores(const std::string& key, const std::string& credential_lines,
                       const std::map<std::string, std::string>& env = {}) {
        CommandResult run = backhaul({"run", pipeline(key, credential_lines).string()}, env);
        EXPECT_EQ(run.exit_code, 0) << run.err;
        if (run.exit_code == 0) {
            EXPECT_EQ(s3().download(kBucket, key), "backup of " + key + "\n");
        }
        return run.err;
    }

    std::string keys_file(const std::string& profile, const S3User& user, const std::string& prefix = "") {
        return "[" + prefix + profile + "]\naws_access_key_id = " + user.access_key +
               "\naws_secret_access_key = " + user.secret_key + "\n";
    }

    // An executable credential_process that prints `user`'s keys (and a token, and `expiration`) and some stderr.
    std::string helper(const S3User& user, const std::string& expiration = "2099-01-01T00:00:00Z") {
        std::filesystem::path path = tmp_ / "helper.sh";
        write_file(path,
                   "#!/bin/sh\necho 'helper: asking the vault' >&2\ncat <<'EOF'\n{\"Version\": 1, "
                   "\"AccessKeyId\": \"" +
                       user.access_key + "\", \"SecretAccessKey\": \"" + user.secret_key +
                       "\", \"SessionToken\": \"helper-session-token\", \"Expiration\": \"" + expiration +
                       "\"}\nEOF\n");
        ::chmod(path.c_str(), 0700);
        return path.string();
    }

    std::string credentials_path() { return (home_ / ".aws" / "credentials").string(); }
    std::string config_path() { return (home_ / ".aws" / "config").string(); }

    TempDir tmp_;
    std::filesystem::path home_ = tmp_ / "home";
    const S3User wrong_{kAdmin.access_key, "not-the-secret"};
};

TEST_F(SwiftCredentials, OptionsWinOverEverythingElse) {
    write_file(credentials_path(), keys_file("default", wrong_));
    std::string log = stores("explicit.txt",
                             "access_key = \"" + kAdmin.access_key + "\"\nsecret_key = \"" + kAdmin.secret_key + "\"\n",
                             {{"AWS_ACCESS_KEY_ID", wrong_.access_key}, {"AWS_SECRET_ACCESS_KEY", wrong_.secret_key}});
    EXPECT_THAT(log, HasSubstr("sink (sink-ncloud-s3): credentials from the access_key and secret_key options"));
}

TEST_F(SwiftCredentials, EnvironmentWinsOverTheFilesAndAwsProfile) {
    write_file(credentials_path(), keys_file("default", wrong_) + keys_file("other", wrong_));
    std::string log = stores("environment.txt", "",
                             {{"AWS_ACCESS_KEY_ID", kAdmin.access_key},
                              {"AWS_SECRET_ACCESS_KEY", kAdmin.secret_key},
                              {"AWS_PROFILE", "other"}});
    EXPECT_THAT(log, HasSubstr("sink (sink-ncloud-s3): credentials from environment (AWS_ACCESS_KEY_ID)\n"));
    EXPECT_THAT(log, Not(HasSubstr(kAdmin.secret_key)));
}

TEST_F(SwiftCredentials, DefaultProfileOfTheCredentialsFileBeforeTheConfigFile) {
    write_file(credentials_path(), keys_file("default", kAdmin));
    write_file(config_path(), keys_file("default", wrong_));
    std::string log = stores("credentials-file.txt", "");
    EXPECT_THAT(log, HasSubstr("credentials from profile 'default' in " + credentials_path() + "\n"));
}

// The profile option skips the environment (as `aws --profile` does); `[profile NAME]` in the config file.
TEST_F(SwiftCredentials, ConfigProfileByTheProfileOption) {
    write_file(tmp_ / "aws-config", "[profile swift]\nregion = us-east-1\naws_access_key_id = " + kAdmin.access_key +
                                        "\naws_secret_access_key = " + kAdmin.secret_key + "\n");
    std::string log = stores("config-option.txt", "profile = \"swift\"\n",
                             {{"AWS_CONFIG_FILE", (tmp_ / "aws-config").string()},
                              {"AWS_ACCESS_KEY_ID", wrong_.access_key},
                              {"AWS_SECRET_ACCESS_KEY", wrong_.secret_key}});
    EXPECT_THAT(log, HasSubstr("credentials from profile 'swift' in " + (tmp_ / "aws-config").string() + "\n"));
}

TEST_F(SwiftCredentials, ConfigProfileByAwsProfileAndFilesNamedByTheEnvironment) {
    write_file(tmp_ / "creds", keys_file("default", wrong_));
    write_file(tmp_ / "conf", keys_file("swift", kAdmin, "profile "));
    std::string log = stores("config-env.txt", "",
                             {{"AWS_PROFILE", "swift"},
                              {"AWS_SHARED_CREDENTIALS_FILE", (tmp_ / "creds").string()},
                              {"AWS_CONFIG_FILE", (tmp_ / "conf").string()}});
    EXPECT_THAT(log, HasSubstr("credentials from profile 'swift' in " + (tmp_ / "conf").string() + "\n"));
}

TEST_F(SwiftCredentials, CredentialProcessBeforeTheConfigFileKeys) {
    write_file(config_path(), keys_file("vault", wrong_, "profile ") + "credential_process = " + helper(kAdmin) + "\n");
    std::string log = stores("process.txt", "profile = \"vault\"\n");
    EXPECT_THAT(log, HasSubstr("credentials from credential_process of profile 'vault' in " + config_path() +
                               ", valid until 2099-01-01T00:00:00Z\n"));
    // A working helper's stderr is nobody's business, and its token is never shown.
    EXPECT_THAT(log, Not(HasSubstr("asking the vault")));
    EXPECT_THAT(log, Not(HasSubstr("helper-session-token")));
}

// A wrong secret from every source: Swift refuses the signature, and the message names the source to fix.
TEST_F(SwiftCredentials, WrongSecretFromEachSourceNamesThatSource) {
    struct Source {
        std::string lines;
        std::map<std::string, std::string> env;
        std::string named;
    };
    write_file(tmp_ / "creds", keys_file("default", wrong_));
    write_file(tmp_ / "conf",
               keys_file("cfg", wrong_, "profile ") + "[profile proc]\ncredential_process = " + helper(wrong_) + "\n");
    const std::map<std::string, std::string> files = {{"AWS_SHARED_CREDENTIALS_FILE", (tmp_ / "creds").string()},
                                                      {"AWS_CONFIG_FILE", (tmp_ / "conf").string()}};
    auto with_files = [&](std::map<std::string, std::string> env) {
        env.insert(files.begin(), files.end());
        return env;
    };
    const std::vector<Source> sources = {
        {"access_key = \"" + wrong_.access_key + "\"\nsecret_key = \"" + wrong_.secret_key + "\"\n",
         {},
         "check secret_key (and that access_key belongs to it)"},
        {"",
         {{"AWS_ACCESS_KEY_ID", wrong_.access_key}, {"AWS_SECRET_ACCESS_KEY", wrong_.secret_key}},
         "check the secret access key from environment (AWS_ACCESS_KEY_ID) (and that its access key id belongs "
         "to it)"},
        {"", with_files({}), "check the secret access key from profile 'default' in " + (tmp_ / "creds").string()},
        {"profile = \"cfg\"\n", with_files({}),
         "check the secret access key from profile 'cfg' in " + (tmp_ / "conf").string()},
        {"", with_files({{"AWS_PROFILE", "proc"}}),
         "check the secret access key from credential_process of profile 'proc' in " + (tmp_ / "conf").string()},
    };
    for (const Source& source : sources) {
        SCOPED_TRACE(source.named);
        CommandResult run = backhaul({"run", pipeline("wrong.txt", source.lines).string()}, source.env);
        EXPECT_EQ(run.exit_code, 1) << run.err;
        EXPECT_THAT(run.err, ContainsRegex("failed: SignatureDoesNotMatch: [^\n]*\\(HTTP 403\\); "));
        EXPECT_THAT(run.err, HasSubstr(source.named));
        EXPECT_THAT(run.err, Not(HasSubstr(wrong_.secret_key)));
    }
    EXPECT_FALSE(s3().exists(kBucket, "wrong.txt"));
}

TEST_F(SwiftCredentials, MissingOrMalformedCredentialsFailInOneLine) {
    CommandResult none = backhaul({"run", pipeline("none.txt", "").string()});
    EXPECT_EQ(none.exit_code, 1) << none.err;
    EXPECT_THAT(none.err, HasSubstr("no credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID and "
                                    "AWS_SECRET_ACCESS_KEY, or a [default] profile in " +
                                    credentials_path()));
    write_file(credentials_path(), "[default]\naws_access_key_id = " + kAdmin.access_key + "\naws_secret_access_key\n");
    CommandResult malformed = backhaul({"run", pipeline("none.txt", "").string()});
    EXPECT_EQ(malformed.exit_code, 1) << malformed.err;
    EXPECT_THAT(malformed.err, HasSubstr(credentials_path() + ":3: expected '[section]' or 'name = value'"));
    std::filesystem::remove(credentials_path());
    CommandResult missing = backhaul({"run", pipeline("none.txt", "profile = \"nope\"\n").string()});
    EXPECT_THAT(missing.err, HasSubstr("profile 'nope' is in neither "));
}

// Swift verifies the signature over every signed header, the token's included; the proxy shows it was sent.
TEST_F(SwiftCredentials, SessionTokenIsSentAndSigned) {
    struct Case {
        std::string lines;
        std::map<std::string, std::string> env;
        std::string token;
    };
    write_file(config_path(), "[profile vault]\ncredential_process = " + helper(kAdmin) + "\n");
    const std::vector<Case> cases = {
        {"access_key = \"" + kAdmin.access_key + "\"\nsecret_key = \"" + kAdmin.secret_key +
             "\"\nsession_token = \"option-session-token\"\n",
         {},
         "option-session-token"},
        {"",
         {{"AWS_ACCESS_KEY_ID", kAdmin.access_key},
          {"AWS_SECRET_ACCESS_KEY", kAdmin.secret_key},
          {"AWS_SESSION_TOKEN", "environment-session-token"}},
         "environment-session-token"},
        {"profile = \"vault\"\n", {}, "helper-session-token"},
    };
    int n = 0;
    for (const Case& c : cases) {
        SCOPED_TRACE(c.token);
        FaultProxy proxy(s3().port());
        const std::string key = "token-" + std::to_string(++n) + ".txt";
        CommandResult run = backhaul({"run", pipeline(key, c.lines, proxy.endpoint()).string()}, c.env);
        ASSERT_EQ(run.exit_code, 0) << run.err;
        EXPECT_EQ(s3().download(kBucket, key), "backup of " + key + "\n");
        std::vector<std::string> heads = proxy.heads();
        ASSERT_FALSE(heads.empty());
        for (const std::string& head : heads) {
            EXPECT_THAT(head, HasSubstr("\r\nx-amz-security-token: " + c.token + "\r\n")) << head;
            EXPECT_THAT(head, ContainsRegex("SignedHeaders=[a-z0-9;-]*x-amz-security-token")) << head;
        }
        EXPECT_THAT(run.err, Not(HasSubstr(c.token)));
    }
}

TEST_F(SwiftCredentials, ExpiredCredentialProcessResultIsRefusedBeforeAnyRequest) {
    write_file(config_path(), "[default]\ncredential_process = " + helper(kAdmin, "2020-01-01T00:00:00Z") + "\n");
    FaultProxy proxy(s3().port());
    CommandResult run = backhaul({"run", pipeline("expired.txt", "", proxy.endpoint()).string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("credential_process of profile 'default' in " + config_path() +
                                   " returned credentials that expired at 2020-01-01T00:00:00Z (now "));
    EXPECT_THAT(run.err, HasSubstr("); nothing was sent"));
    EXPECT_EQ(proxy.requests(), std::vector<std::string>{});
}

// AWS's answers to a token STS no longer honours, or never issued; Swift has no STS, so the proxy gives them.
TEST_F(SwiftCredentials, ExpiredOrInvalidTokenAnswersAreReportedClearly) {
    const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", kAdmin.access_key},
                                                    {"AWS_SECRET_ACCESS_KEY", kAdmin.secret_key},
                                                    {"AWS_SESSION_TOKEN", "stale-session-token"}};
    for (const auto& [code, message, hint] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"ExpiredToken", "The provided token has expired.",
              "the session token from environment (AWS_ACCESS_KEY_ID) has expired; get new temporary credentials"},
             {"InvalidToken", "The provided token is malformed or otherwise invalid.",
              "the session token from environment (AWS_ACCESS_KEY_ID) is malformed or does not belong to the access "
              "key"}}) {
        FaultProxy proxy(s3().port());
        // On the PutObject that stores the backup: a failed listing is only a warning for a run.
        proxy.add({Fault::Kind::status, "PUT", "/", -1, 400,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
                       "</Message><RequestId>1</RequestId></Error>"});
        CommandResult run = backhaul({"run", pipeline("stale.txt", "", proxy.endpoint()).string()}, env);
        EXPECT_EQ(run.exit_code, 1) << run.err;
        EXPECT_THAT(run.err, HasSubstr("failed: " + code + ": " + message + " (HTTP 400); " + hint));
        EXPECT_THAT(run.err, Not(HasSubstr("stale-session-token")));
    }
}

TEST_F(SwiftCredentials, CheckReportsTheSource) {
    write_file(credentials_path(), keys_file("default", kAdmin));
    CommandResult ok = backhaul({"check", pipeline("db/x", "").string()});
    EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
    EXPECT_THAT(ok.out,
                HasSubstr("✓ sink (sink-ncloud-s3): credentials: from profile 'default' in " + credentials_path()));
    std::filesystem::remove(credentials_path());
    CommandResult none = backhaul({"check", pipeline("db/x", "").string()});
    EXPECT_EQ(none.exit_code, 1) << none.out << none.err;
    EXPECT_THAT(none.out, HasSubstr("✗ sink (sink-ncloud-s3): credentials: no credentials: "));
    EXPECT_THAT(none.out, Not(HasSubstr("list s3://")));
}

}  // namespace
}  // namespace backhaul::testing
