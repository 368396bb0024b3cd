// secret-ncloud against the local Secret Manager test server, which checks every signature and timestamp with its own
// Python code: each stage and value shape, every error class as its exact line, retries, and (through the real
// `backhaul` binary) that a distinctive password never shows up in output, logs, the sink or any command line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "command_runner.hpp"
#include "ncloud_secret_manager_fixture.hpp"
#include "secret_fetch.hpp"
#include "secret_leak_scanner.hpp"

namespace backhaul::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

constexpr const char* kAccessKey = "ncp_iam_BPASKRTESTKEY01";
constexpr const char* kSecretKey = "tEsT/SeCrEt+KeY=0123456789abcdefghij";
constexpr const char* kPassword = "Zq9-Distinctive-Pa55w0rd-7xK";

// The server's secrets: a rotation chain, a plain value, and one id per failure.
std::string server_config(int clock_offset_seconds = 0) {
    return R"({"access_key": ")" + std::string(kAccessKey) + R"(", "secret_key": ")" + kSecretKey +
           R"(", "clock_offset_seconds": )" + std::to_string(clock_offset_seconds) + R"(,
      "secrets": {
        "db": {"chain": {"active": "{\"cdbUser\":\"app\",\"cdbPassword\":\")" +
           kPassword + R"(\"}",
                         "previous": "{\"cdbUser\":\"app\",\"cdbPassword\":\"old-)" +
           kPassword + R"(\"}",
                         "pending": null}},
        "plain": {"chain": {"active": ")" +
           kPassword + R"("}},
        "forbidden": {"status": 403},
        "disabled": {"status": 422},
        "broken": {"status": 500},
        "flaky": {"fail_first": 2, "fail_status": 503, "chain": {"active": "{\"k\":\"v\"}"}},
        "garbage": {"raw_body": "{\"code\":\"SUCCESS\",\"data\":{\"decryptedSecretChain\":{\"active\":\")" +
           kPassword + R"(", "status": 200},
        "failed": {"raw_body": "{\"code\":\"FAIL\"}", "status": 200}
      }})";
}

class SecretNcloudServerTest : public ::testing::Test {
  protected:
    harness::OptionList options(const std::string& secret_id, harness::OptionList extra = {}) {
        return harness::overridden({{"access_key", kAccessKey},
                                    {"secret_key", kSecretKey},
                                    {"secret_id", secret_id},
                                    {"endpoint", server_.endpoint()}},
                                   extra);
    }

    harness::SecretFetch fetch(const harness::OptionList& opts) {
        harness::SecretFetch result = harness::fetch_secret(plugin_, opts);
        log_ += result.log;
        return result;
    }

    // How many requests for `id` the server saw, and that each one passed its signature check.
    int signed_requests(const std::string& id) {
        int count = 0;
        for (const std::string& line : server_.requests())
            if (line.find("\"secret_id\": \"" + id + "\"") != std::string::npos) {
                EXPECT_THAT(line, HasSubstr("\"auth\": \"ok\""));
                ++count;
            }
        return count;
    }

    harness::Plugin plugin_{"secret-ncloud"};
    NcloudSecretManagerServer server_{server_config()};
    std::string log_;
};

TEST_F(SecretNcloudServerTest, FetchesEveryFieldOfTheActiveValueWithOneSignedRequest) {
    harness::SecretFetch r = fetch(options("db"));
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("cdbPassword", kPassword), Pair("cdbUser", "app")));
    EXPECT_EQ(signed_requests("db"), 1);
    EXPECT_THAT(log_, HasSubstr("secret 'db' (active): fields cdbPassword, cdbUser"));
    EXPECT_THAT(log_, Not(HasSubstr(kPassword)));
}

TEST_F(SecretNcloudServerTest, ReadsThePreviousStage) {
    harness::SecretFetch r = fetch(options("db", {{"stage", "previous"}}));
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_EQ(r.fields["cdbPassword"], std::string("old-") + kPassword);
}

TEST_F(SecretNcloudServerTest, MissingStageNamesTheStagesPresent) {
    harness::SecretFetch r = fetch(options("db", {{"stage", "pending"}}));
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(r.error, "secret 'db' has no 'pending' value (stages present: active, previous)");
}

TEST_F(SecretNcloudServerTest, PlainValueIsTheValueField) {
    harness::SecretFetch r = fetch(options("plain"));
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("value", kPassword)));
}

TEST_F(SecretNcloudServerTest, EndpointWithTrailingSlashSignsThePathItSends) {
    harness::SecretFetch r = fetch(options("plain", {{"endpoint", server_.endpoint() + "/"}}));
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_EQ(signed_requests("plain"), 1);
}

TEST_F(SecretNcloudServerTest, WrongSecretKeyIsA401ThatBlamesKeyOrSignature) {
    harness::SecretFetch r = fetch(options("db", {{"secret_key", "not-the-right-secret-key"}}));
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(r.error,
              "Secret Manager rejected the request (HTTP 401, 200 Authentication Failed): likely the access key is "
              "unknown or secret_key does not belong to it (signature mismatch)");
    EXPECT_THAT(server_.requests(), ElementsAre(HasSubstr("\"auth\": \"signature mismatch\"")));
}

TEST_F(SecretNcloudServerTest, UnknownAccessKeyIsA401) {
    harness::SecretFetch r = fetch(options("db", {{"access_key", "ncp_iam_UNKNOWN"}}));
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_THAT(r.error, HasSubstr("likely the access key is unknown or secret_key does not belong to it"));
    EXPECT_THAT(server_.requests(), ElementsAre(HasSubstr("\"auth\": \"unknown access key\"")));
}

TEST(SecretNcloudClockSkew, A401FromASkewedServerBlamesTheClock) {
    NcloudSecretManagerServer skewed(server_config(/*clock_offset_seconds=*/900));
    harness::Plugin plugin("secret-ncloud");
    harness::SecretFetch r = harness::fetch_secret(
        plugin,
        {{"access_key", kAccessKey}, {"secret_key", kSecretKey}, {"secret_id", "db"}, {"endpoint", skewed.endpoint()}});
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_THAT(r.error, ::testing::MatchesRegex(
                             "Secret Manager rejected the request \\(HTTP 401, 200 Authentication Failed\\): "
                             "likely clock skew: this host's clock is (899|90[01]) s behind the server's and "
                             "the API gateway allows 5 minutes; sync it \\(NTP\\)"));
    EXPECT_THAT(skewed.requests(), ElementsAre(HasSubstr("\"auth\": \"timestamp expired\"")));
}

TEST_F(SecretNcloudServerTest, ForbiddenIs403) {
    harness::SecretFetch r = fetch(options("forbidden"));
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(r.error,
              "Secret Manager denied access to secret 'forbidden' (HTTP 403, FORBIDDEN Forbidden): the "
              "access key may not read this secret");
}

TEST_F(SecretNcloudServerTest, UnknownSecretIdIs404) {
    harness::SecretFetch r = fetch(options("nosuchsecret"));
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(r.error, "secret 'nosuchsecret' not found at " + server_.endpoint() +
                           " (HTTP 404, NOT_FOUND Not found): check secret_id and the endpoint's region");
    EXPECT_EQ(signed_requests("nosuchsecret"), 1);
}

TEST_F(SecretNcloudServerTest, DisabledSecretIs422) {
    harness::SecretFetch r = fetch(options("disabled"));
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(r.error,
              "secret 'disabled' is not enabled (HTTP 422, UNPROCESSABLE_ENTITY Invalid status): enable it "
              "in Secret Manager");
}

TEST_F(SecretNcloudServerTest, ServerErrorIsRetriedThenRetryable) {
    harness::SecretFetch r = fetch(options("broken", {{"max_retries", 2}}));
    EXPECT_EQ(r.status, BH_RETRYABLE);
    EXPECT_EQ(r.error,
              "Secret Manager failed (HTTP 500, INTERNAL_SERVER_ERROR Server internal error) after 3 "
              "attempts for secret 'broken'");
    EXPECT_EQ(signed_requests("broken"), 3);
    EXPECT_THAT(log_, HasSubstr("Secret Manager: HTTP 500; retry 1 of 2 in "));
}

TEST_F(SecretNcloudServerTest, TransientFailuresAreRetriedWithFreshSignatures) {
    harness::SecretFetch r = fetch(options("flaky", {{"max_retries", 3}}));
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("k", "v")));
    EXPECT_EQ(signed_requests("flaky"), 3);
}

TEST_F(SecretNcloudServerTest, ClientErrorsAreNotRetried) {
    fetch(options("disabled", {{"max_retries", 3}}));
    EXPECT_EQ(signed_requests("disabled"), 1);
}

TEST_F(SecretNcloudServerTest, MalformedBodyIsOneLineWithoutTheBody) {
    harness::SecretFetch r = fetch(options("garbage"));
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_THAT(r.error, ::testing::MatchesRegex("Secret Manager's answer for secret 'garbage' is not a JSON object "
                                                 "\\([0-9]+ bytes\\)"));
    harness::SecretFetch failed = fetch(options("failed"));
    EXPECT_EQ(failed.error, "Secret Manager's answer for secret 'failed' has code 'FAIL' instead of SUCCESS");
}

TEST_F(SecretNcloudServerTest, UnreachableEndpointFailsAfterRetries) {
    std::string endpoint = server_.endpoint();
    server_.stop();
    harness::SecretFetch r = fetch(options("db", {{"max_retries", 1}, {"endpoint", endpoint}}));
    EXPECT_EQ(r.status, BH_RETRYABLE);
    EXPECT_THAT(r.error, AllOf(::testing::StartsWith("cannot reach Secret Manager at " + endpoint + ": "),
                               ::testing::EndsWith(" (after 2 attempts)")));
}

// create runs the plugin's validate first (ranges are the host's, see secret_ncloud_validate_test.cpp).
TEST_F(SecretNcloudServerTest, OptionsAreCheckedAtCreate) {
    EXPECT_EQ(fetch(options("db", {{"endpoint", "http://secretmanager.example.com"}})).error,
              "option 'endpoint': plain http to a remote host is refused; use https, or set insecure_http = true");
    EXPECT_EQ(fetch(options("db", {{"endpoint", "ftp://x"}})).error,
              "option 'endpoint': must be an http:// or https:// URL (scheme://host[:port][/path], no user info)");
    EXPECT_EQ(fetch(options("a/b")).error,
              "option 'secret_id': is not a Secret Manager secret id (letters, digits, '-', '_', '.')");
    EXPECT_EQ(fetch(options("a/b")).status, BH_INVALID_CONFIG);
    EXPECT_THAT(server_.requests(), IsEmpty());
}

// ---- Through the real binary: interpolation, error lines, and the leak test --------------------------------------

class SecretNcloudPipelineTest : public ::testing::Test {
  protected:
    void SetUp() override { std::filesystem::create_directories(tmp_ / "sink"); }

    // secret-ncloud -> source-command (the password reaches the child only as $PW, which it hashes) -> sink-local.
    std::filesystem::path pipeline(const std::string& secret_id, const std::string& field = "cdbPassword",
                                   const std::string& sink_path = "") {
        std::string text =
            "name = \"secrettest\"\n\n[secrets.db]\nplugin = \"secret-ncloud\"\n"
            "access_key = \"${env:ACCESS_KEY}\"\nsecret_key = \"${env:SECRET_KEY}\"\n"
            "secret_id = \"" +
            secret_id + "\"\nendpoint = \"" + server_.endpoint() +
            "\"\nmax_retries = 1\n\n"
            "[source]\nplugin = \"source-command\"\n"
            "command = [\"sh\", \"-c\", \"printf %s \\\"$PW\\\" | sha256sum\"]\n"
            "env = { PW = \"${secret:db." +
            field +
            "}\" }\n\n"
            "[sink]\nplugin = \"sink-local\"\npath = \"" +
            (sink_path.empty() ? (tmp_ / "sink").string() : sink_path) + "\"\nkey = \"out\"\n";
        write_file(tmp_ / "pipeline.toml", text);
        return tmp_ / "pipeline.toml";
    }

    CommandResult run(const std::filesystem::path& file) {
        CommandOptions options;
        options.env = {{"ACCESS_KEY", kAccessKey}, {"SECRET_KEY", kSecretKey}};
        // The source child gets the password in its environment ($PW) on purpose; anywhere else is a leak.
        SecretLeakScanner scanner(kPassword, {"sh", "sha256sum"});
        CommandResult result = run_command({BACKHAUL_BINARY, "--log-level", "debug", "run", file.string()}, options);
        std::vector<std::string> findings = scanner.stop();
        EXPECT_THAT(findings, IsEmpty());
        EXPECT_GT(scanner.passes(), 0);
        EXPECT_THAT(result.out, Not(HasSubstr(kPassword)));
        EXPECT_THAT(result.err, Not(HasSubstr(kPassword)));
        for (const std::string& f : files_below(tmp_.path()))
            EXPECT_THAT(read_file(tmp_ / f), Not(HasSubstr(kPassword))) << f;
        return result;
    }

    TempDir tmp_;
    NcloudSecretManagerServer server_{server_config()};
};

TEST_F(SecretNcloudPipelineTest, PasswordReachesTheStageAndNowhereElse) {
    CommandResult r = run(pipeline("db"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // On stdin, not argv: a concurrent test's scanner would rightly see it on a command line.
    CommandOptions hash_input;
    hash_input.stdin_data = kPassword;
    CommandResult expected = run_command({"sha256sum"}, hash_input);
    EXPECT_EQ(read_file(tmp_ / "sink" / "out"), expected.out);
    EXPECT_EQ(server_.requests().size(), 1u) << "fetched once per run";
}

struct PipelineFailure {
    std::string name, secret_id, field, expected;
    friend void PrintTo(const PipelineFailure& c, std::ostream* os) { *os << c.name; }
};

class SecretNcloudPipelineFailure : public SecretNcloudPipelineTest,
                                    public ::testing::WithParamInterface<PipelineFailure> {};

TEST_P(SecretNcloudPipelineFailure, ExitsOneWithOneClearLineAndLeaksNothing) {
    const PipelineFailure& c = GetParam();
    CommandResult r = run(pipeline(c.secret_id, c.field));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.expected)) << r.err;
    EXPECT_THAT(files_below(tmp_ / "sink"), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Each, SecretNcloudPipelineFailure,
    ::testing::Values(PipelineFailure{"MissingField", "db", "nope",
                                      "secrets.db: no field 'nope' (fields: cdbPassword, cdbUser)"},
                      PipelineFailure{"NotFound", "nosuchsecret", "cdbPassword", "secret 'nosuchsecret' not found at "},
                      PipelineFailure{"Forbidden", "forbidden", "cdbPassword", "denied access to secret 'forbidden'"},
                      PipelineFailure{"Disabled", "disabled", "cdbPassword", "secret 'disabled' is not enabled"},
                      PipelineFailure{"ServerError", "broken", "cdbPassword", "after 2 attempts for secret 'broken'"},
                      PipelineFailure{"Malformed", "garbage", "cdbPassword", "secret 'garbage' is not a JSON object"},
                      PipelineFailure{"PlainValueHasOnlyValue", "plain", "cdbPassword",
                                      "secrets.db: no field 'cdbPassword' (fields: value)"}),
    [](const auto& info) { return info.param.name; });

TEST_F(SecretNcloudPipelineTest, WrongSecretKeyFailsWithoutEchoingEitherSecret) {
    std::filesystem::path file = pipeline("db");
    CommandOptions options;
    // Not kPassword: this backhaul's environment would be a leak for the scanner of a test running at the same time.
    const std::string wrong_secret_key = "Wrong-Distinctive-Secret-Key-8Rm";
    options.env = {{"ACCESS_KEY", kAccessKey}, {"SECRET_KEY", wrong_secret_key}};
    CommandResult r = run_command({BACKHAUL_BINARY, "--log-level", "debug", "run", file.string()}, options);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("likely the access key is unknown or secret_key does not belong to it"));
    EXPECT_THAT(r.err + r.out, Not(HasSubstr(wrong_secret_key)));
    EXPECT_THAT(r.err + r.out, Not(HasSubstr(kPassword)));
}

TEST_F(SecretNcloudPipelineTest, ASecretValueInAnErrorMessageIsRedacted) {
    // The sink's error names its path, which here contains the password: the core must scrub it.
    std::string text = read_file(pipeline("db"));
    std::string sink_line = "path = \"" + (tmp_ / "sink").string() + "\"";
    text.replace(text.find(sink_line), sink_line.size(), "path = \"/nonexistent/${secret:db.cdbPassword}\"");
    write_file(tmp_ / "pipeline.toml", text);
    CommandResult r = run(tmp_ / "pipeline.toml");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("<redacted>"));
}

}  // namespace
}  // namespace backhaul::testing

namespace backhaul::testing {
namespace {

// The leak checks above are only as good as the scanner: it must see a secret that is on a command line.
TEST(SecretLeakScannerSelfTest, SeesASecretOnAChildsCommandLine) {
    // Not kPassword: this command line would be a leak for the scanners of tests running at the same time.
    const std::string needle = "Scanner-Self-Test-Needle-5Tz";
    SecretLeakScanner scanner(needle);
    CommandResult r = run_command({"sh", "-c", "sleep 0.3", needle});
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_THAT(scanner.stop(), ::testing::Contains(::testing::MatchesRegex("cmdline of [0-9]+ \\((sh|sleep)\\)")));
}

}  // namespace
}  // namespace backhaul::testing
