// sink-ncloud-s3 end to end: pipelines through the real `backhaul` binary into Swift's s3api (a strict S3: it checks
// SigV4, payload SHA-256, Content-MD5 and multipart rules), read back by the AWS CLI as the independent client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <random>
#include <thread>

#include "command_runner.hpp"
#include "fault_proxy.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kBucket = "pipelines";

std::string random_bytes(size_t size, uint64_t seed) {
    std::mt19937_64 random(seed);
    std::string data(size, '\0');
    for (size_t i = 0; i < size; i += 8) {
        uint64_t word = random();
        for (size_t j = 0; j < 8 && i + j < size; ++j) data[i + j] = static_cast<char>(word >> (8 * j));
    }
    return data;
}

// Whether `pid` has no SIGTERM pending any more (its signal thread took it): /proc/PID/status "ShdPnd" bit 15.
bool proc_signal_taken(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("ShdPnd:", 0) != 0) continue;
        const unsigned long long pending = std::stoull(line.substr(7), nullptr, 16);
        return (pending & (1ull << (SIGTERM - 1))) == 0;
    }
    return true;
}

class SwiftPipeline : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { SwiftS3::instance().create_bucket(kBucket); }

    SwiftS3& s3() { return SwiftS3::instance(); }

    // The key template that renders to `key`: '%' starts a strftime field in templates.
    static std::string key_template(const std::string& key) {
        std::string out;
        for (char c : key) out += c == '%' ? std::string("%%") : std::string(1, c);
        return out;
    }

    // A pipeline: cat `input` -> [transforms] -> sink-ncloud-s3 at `endpoint` with extra sink options.
    std::filesystem::path pipeline(const std::string& input, const std::string& key, const std::string& transforms = "",
                                   const std::string& sink_options = "", const std::string& endpoint = "") {
        write_file(tmp_ / "input.bin", input);
        // An empty input is meant as an empty backup here (a run refuses 0 bytes unless allowed).
        std::string text = "name = \"s3test\"\n" + std::string(input.empty() ? "allow_empty = true\n" : "") +
                           "\n[source]\nplugin = \"source-command\"\ncommand = [\"cat\", \"" +
                           (tmp_ / "input.bin").string() + "\"]\n\n" + transforms + "\n[sink]\n" +
                           sink_table(key, sink_options, endpoint);
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }

    std::string sink_table(const std::string& key, const std::string& sink_options, const std::string& endpoint) {
        return "plugin = \"sink-ncloud-s3\"\nendpoint = \"" + (endpoint.empty() ? s3().endpoint() : endpoint) +
               "\"\nregion = \"us-east-1\"\nbucket = \"" + kBucket + "\"\nkey = \"" + key +
               "\"\naccess_key = \"${env:S3_ACCESS_KEY}\"\nsecret_key = \"${env:S3_SECRET_KEY}\"\npart_size = "
               "\"5MiB\"\n" +
               sink_options;
    }

    CommandResult backhaul(std::vector<std::string> args, const S3User& user = SwiftS3::admin) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        CommandOptions options;
        options.env = {{"S3_ACCESS_KEY", user.access_key}, {"S3_SECRET_KEY", user.secret_key}};
        return run_command(args, options);
    }

    // Stores `input` under `key` without transforms and checks the AWS CLI reads back exactly `input`.
    void store_and_check(const std::string& input, const std::string& key) {
        CommandResult run = backhaul({"run", pipeline(input, key_template(key)).string()});
        ASSERT_EQ(run.exit_code, 0) << run.err;
        EXPECT_THAT(run.err, HasSubstr("backup committed"));
        std::string stored = s3().download(kBucket, key);
        EXPECT_EQ(stored.size(), input.size());
        EXPECT_TRUE(stored == input) << "object differs from the input";
    }

    void expect_nothing_left(const std::string& key) {
        EXPECT_FALSE(s3().exists(kBucket, key)) << key << " was committed";
        EXPECT_EQ(s3().pending_uploads(kBucket), "");
    }

    TempDir tmp_;
};

TEST_F(SwiftPipeline, TinyObjectIsOnePutObject) { store_and_check("hello, object storage\n", "tiny/hello.txt"); }

TEST_F(SwiftPipeline, ZeroByteObject) { store_and_check("", "tiny/empty.bin"); }

TEST_F(SwiftPipeline, KeysWithSpacesPlusPercentAndKorean) {
    store_and_check("key rules\n", "odd keys/a b+c%d 백업 파일.bin");
    store_and_check("more\n", "odd keys/100% + 50%/~tilde=equals&amp;.bin");
}

TEST_F(SwiftPipeline, ObjectOfExactlyOnePartIsOnePutObject) {
    store_and_check(random_bytes(5 << 20, 7), "sizes/one-part.bin");
    CommandResult head = s3().aws({"s3api", "head-object", "--bucket", kBucket, "--key", "sizes/one-part.bin"});
    EXPECT_THAT(head.out, Not(HasSubstr("-1\\\""))) << "stored as a multipart upload";
}

TEST_F(SwiftPipeline, MultipartGzipStreamRestoresByteIdentical) {
    // Incompressible input: the gzip stream is ~16 MiB, four 5 MiB parts (the last one short).
    std::string input = random_bytes(16 << 20, 11);
    std::string key = "multi/데이터 dump+1.bin.gz";
    auto file = pipeline(input, key, "[[transform]]\nplugin = \"compress-gzip\"\nlevel = 1\n", "concurrency = 3\n");
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;

    CommandResult head = s3().aws({"s3api", "head-object", "--bucket", kBucket, "--key", key});
    ASSERT_EQ(head.exit_code, 0) << head.err;
    EXPECT_THAT(head.out, HasSubstr("-4\\\"")) << "expected a 4-part multipart ETag: " << head.out;

    // The AWS CLI's copy, gunzipped, is the input.
    std::string stored = s3().download(kBucket, key);
    write_file(tmp_ / "stored.gz", stored);
    CommandResult gunzip = run_command({"gunzip", "-c", (tmp_ / "stored.gz").string()});
    ASSERT_EQ(gunzip.exit_code, 0) << gunzip.err;
    EXPECT_TRUE(gunzip.out == input) << "gunzip of the stored object differs from the input";

    // And `backhaul restore` reads it back from S3 (ranged GETs in parallel) through the decoder.
    CommandResult restore = backhaul({"restore", file.string(), "--key", key, "--output", (tmp_ / "out").string()});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_TRUE(read_file(tmp_ / "out") == input) << "restored stream differs from the input";
}

TEST_F(SwiftPipeline, WrongSecretFailsWithSignatureDoesNotMatch) {
    CommandResult run = backhaul({"run", pipeline("data", "denied/wrong-secret.bin").string()},
                                 S3User{SwiftS3::admin.access_key, "not-the-secret"});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, ::testing::ContainsRegex(
                             "backup failed, nothing committed: sink \\(sink-ncloud-s3\\): HeadObject "
                             "s3://pipelines/denied/wrong-secret.bin.pending.json failed: SignatureDoesNotMatch: "
                             "[^\n]*\\(HTTP 403\\); check secret_key"));
    EXPECT_FALSE(s3().exists(kBucket, "denied/wrong-secret.bin"));
}

TEST_F(SwiftPipeline, ReadOnlyUserFailsWithAccessDenied) {
    // Swift's tempauth denies such a user the HeadObject of the no-overwrite check already; without that check
    // (conditional_writes = "header") the first write is denied.
    CommandResult run =
        backhaul({"run", pipeline(random_bytes(6 << 20, 5), "denied/read-only.bin").string()}, SwiftS3::reader);
    EXPECT_EQ(run.exit_code, 1);
    // The run's first write is its pending marker: a key that may not write fails before anything is streamed.
    EXPECT_THAT(run.err, HasSubstr("sink (sink-ncloud-s3): HeadObject s3://pipelines/denied/read-only.bin.pending.json "
                                   "failed: AccessDenied: Access Denied. (HTTP 403); the key is not allowed"));
    auto header_only =
        pipeline(random_bytes(6 << 20, 5), "denied/read-only.bin", "", "conditional_writes = \"header\"\n");
    run = backhaul({"run", header_only.string()}, SwiftS3::reader);
    EXPECT_EQ(run.exit_code, 1);
    // Swift refuses If-None-Match on PutObject before it looks at permissions; the hint names the way out.
    EXPECT_THAT(run.err, HasSubstr("sink (sink-ncloud-s3): PutObject s3://pipelines/denied/read-only.bin.pending.json "
                                   "failed: NotImplemented"));
    EXPECT_THAT(run.err, HasSubstr("set conditional_writes = \"auto\""));
    expect_nothing_left("denied/read-only.bin");
}

// A configuration error (exit 2) at the endpoint's position, from `validate` and `run` alike, before any request.
TEST_F(SwiftPipeline, PlainHttpToARemoteHostIsRefusedUnlessAllowed) {
    const std::filesystem::path file = pipeline("x", "k", "", "", "http://s3.example.com");
    const std::string refused = R"(pipeline\.toml:[0-9]+:[0-9]+: sink \(sink-ncloud-s3\): option 'endpoint': plain )"
                                R"(http to a remote host is refused; use https, or set insecure_http = true)";
    for (const char* command : {"validate", "run"}) {
        CommandResult result = backhaul({command, file.string()});
        EXPECT_EQ(result.exit_code, 2) << command << ": " << result.err;
        EXPECT_THAT(result.err, ::testing::ContainsRegex(refused)) << command;
    }
}

// ---- Faults between backhaul and the server --------------------------------------------------------------------

const std::string kSlowDown =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request "
    "rate.</Message></Error>";
const std::string kInternalError =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal "
    "error. Please try again.</Message></Error>";

struct FaultCase {
    std::string name;
    std::vector<Fault> faults;
    int expected_injections;

    friend void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }
};

class TransientFault : public SwiftPipeline, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(TransientFault, IsRetriedAndTheObjectIsByteIdentical) {
    FaultProxy proxy(s3().port());
    for (const Fault& fault : GetParam().faults) proxy.add(fault);
    std::string input = random_bytes(16 << 20, 21);
    std::string key = "faults/" + GetParam().name + " 복구.bin";
    auto file = pipeline(input, key, "", "request_timeout = \"4s\"\n", proxy.endpoint());
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(proxy.injected(), GetParam().expected_injections);
    EXPECT_THAT(run.err, HasSubstr("; retry 1 of 5 in "));
    EXPECT_TRUE(s3().download(kBucket, key) == input) << "object differs from the input";
    EXPECT_EQ(s3().pending_uploads(kBucket), "");
}

INSTANTIATE_TEST_SUITE_P(
    Swift, TransientFault,
    ::testing::Values(
        FaultCase{"InternalError500", {{Fault::Kind::status, "PUT", "partNumber=2&", 1, 500, kInternalError}}, 1},
        FaultCase{"SlowDown503Twice", {{Fault::Kind::status, "PUT", "partNumber=1&", 2, 503, kSlowDown}}, 2},
        FaultCase{"ConnectionResetMidPart", {{Fault::Kind::reset, "PUT", "partNumber=3&", 1, 0, ""}}, 1},
        FaultCase{"StalledResponse", {{Fault::Kind::stall, "PUT", "partNumber=2&", 1, 0, ""}}, 1},
        FaultCase{"SlowDownOnCreate", {{Fault::Kind::status, "POST", "uploads=", 1, 503, kSlowDown}}, 1}),
    [](const ::testing::TestParamInfo<FaultCase>& info) { return info.param.name; });

TEST_F(SwiftPipeline, PermanentFaultAbortsTheUploadAndExitsOne) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::status, "PUT", "partNumber=2&", -1, 503, kSlowDown});
    std::string key = "faults/permanent.bin";
    auto file = pipeline(random_bytes(16 << 20, 9), key, "", "max_retries = 2\n", proxy.endpoint());
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_EQ(proxy.injected(), 3);  // the first attempt and two retries
    EXPECT_THAT(run.err, HasSubstr("backup failed, nothing committed: sink (sink-ncloud-s3): UploadPart 2 of "
                                   "s3://pipelines/faults/permanent.bin failed: SlowDown: Please reduce your request "
                                   "rate. (HTTP 503)"));
    EXPECT_THAT(proxy.requests(), ::testing::Contains(::testing::StartsWith("DELETE /pipelines/faults/permanent.bin"
                                                                            "?uploadId=")));
    expect_nothing_left(key);
}

TEST_F(SwiftPipeline, ASignalWhileCreateMultipartUploadIsInFlightStillAbortsTheUpload) {
    // The upload exists on the server the moment it answers; a cancellation that lands before the answer is read
    // must not lose its id, or nothing aborts it and its parts cost storage for ever.
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::hold_response, "POST", "?uploads", 1, 200, ""});
    std::string key = "faults/cancel-during-create.bin";
    auto file = pipeline(random_bytes(16 << 20, 21), key, "", "", proxy.endpoint());
    CommandOptions options;
    options.env = {{"S3_ACCESS_KEY", SwiftS3::admin.access_key}, {"S3_SECRET_KEY", SwiftS3::admin.secret_key}};
    bool held = false;
    options.while_running = [&](pid_t pid) {
        held = proxy.wait_until_held();
        ::kill(pid, SIGTERM);
        // The run's control has the cancellation once its signal thread took the signal: until then it would still
        // read the answer normally. Waiting for the signal to be taken keeps the order fixed.
        for (int i = 0; i < 2000 && !proc_signal_taken(pid); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        proxy.release();
    };
    CommandResult run = run_command({BACKHAUL_BINARY, "run", file.string()}, options);
    ASSERT_TRUE(held);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("interrupted by SIGTERM"));
    expect_nothing_left(key);
}

TEST_F(SwiftPipeline, ErrorInsideA200CompleteIsAFailure) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::error_in_200, "POST", "uploadId=", 1, 200, kInternalError});
    std::string key = "faults/complete-error.bin";
    auto file = pipeline(random_bytes(11 << 20, 13), key, "", "", proxy.endpoint());
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_EQ(proxy.injected(), 1);
    EXPECT_THAT(run.err, HasSubstr("CompleteMultipartUpload s3://pipelines/faults/complete-error.bin failed: "
                                   "InternalError: We encountered an internal error. Please try again. (HTTP 200)"));
    expect_nothing_left(key);
}

// AWS answers a Complete retried after its first answer was lost with 412 when If-None-Match is sent (the first one
// created the object). Swift forgets the upload instead, so the proxy plays AWS for the retry.
TEST_F(SwiftPipeline, CompleteRetriedAfterALostAnswerFindsItsOwnObject) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::lose_response, "POST", "uploadId=", 1, 0, ""});
    proxy.add({Fault::Kind::status, "POST", "uploadId=", 1, 412,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PreconditionFailed</Code><Message>At least "
               "one of the pre-conditions you specified did not hold</Message></Error>"});
    std::string key = "never-overwrite/lost-complete.bin";
    std::string input = random_bytes(11 << 20, 17);
    auto file = pipeline(input, key, "", "request_timeout = \"4s\"\n", proxy.endpoint());
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(proxy.injected(), 2);
    EXPECT_THAT(run.err, HasSubstr("backup committed"));
    EXPECT_TRUE(s3().download(kBucket, key) == input) << "object differs from the input";
    EXPECT_EQ(s3().pending_uploads(kBucket, "never-overwrite/"), "");
}

}  // namespace
}  // namespace backhaul::testing
