// `backhaul check` against Swift's s3api through the real binary: every call a backup, list, verify and prune make
// passes with the admin key and leaves no object and no multipart upload behind; a key that may read but not write
// and a wrong secret key each fail once, with the call, the missing permission and the fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "command_runner.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kBucket = "checks";
constexpr const char* kReadOnlyBucket = "checks-read-only";

class SwiftCheck : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        SwiftS3::instance().create_bucket(kBucket);
        SwiftS3::instance().create_bucket(kReadOnlyBucket, "public-read");
    }
    SwiftS3& s3() { return SwiftS3::instance(); }

    std::filesystem::path pipeline(const std::string& bucket) {
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file,
                   "name = \"nightly\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"echo\", \"x\"]\n\n"
                   "[[transform]]\nplugin = \"compress-gzip\"\n\n[sink]\nplugin = \"sink-ncloud-s3\"\n"
                   "endpoint = \"" +
                       s3().endpoint() + "\"\nregion = \"us-east-1\"\nbucket = \"" + bucket +
                       "\"\nkey = \"db/{pipeline}/%Y%m%d-%H%M%S{ext}\"\naccess_key = \"${env:S3_ACCESS_KEY}\"\n"
                       "secret_key = \"${env:S3_SECRET_KEY}\"\nmax_retries = 0\n");
        return file;
    }

    CommandResult check(const std::filesystem::path& file, const S3User& user) {
        CommandOptions options;
        options.env = {{"S3_ACCESS_KEY", user.access_key}, {"S3_SECRET_KEY", user.secret_key}, {"LC_ALL", "C.UTF-8"}};
        return run_command({BACKHAUL_BINARY, "check", file.string()}, options);
    }

    // Every key in `bucket` under db/, as the AWS CLI lists them ("" when there is none), and no pending upload.
    std::string keys_left(const std::string& bucket) {
        CommandResult listed = s3().aws({"s3api", "list-objects", "--bucket", bucket, "--prefix", "db/", "--query",
                                         "Contents[].Key", "--output", "text"});
        EXPECT_EQ(listed.exit_code, 0) << listed.err;
        std::string keys = listed.out;
        while (!keys.empty() && (keys.back() == '\n' || keys.back() == ' ')) keys.pop_back();
        EXPECT_EQ(s3().pending_uploads(bucket), "") << "a multipart upload was left pending";
        return keys == "None" ? "" : keys;
    }

    TempDir tmp_;
};

TEST_F(SwiftCheck, AdminKeyPassesEveryCallAndLeavesNothing) {
    CommandResult run = check(pipeline(kBucket), SwiftS3::admin);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    const std::string sink = "✓ sink \\(sink-ncloud-s3\\): ";
    EXPECT_THAT(run.out,
                ContainsRegex(sink + "list s3://checks at http://127\\.0\\.0\\.1:[0-9]+ \\(region us-east-1\\): "
                                     "the bucket exists, the key signs and the region is right"));
    EXPECT_THAT(run.out,
                ContainsRegex(sink + "multipart upload to s3://checks/db/nightly/\\.backhaul-check-[0-9a-f]{16} "
                                     "\\(create, upload a part, abort\\): backups larger than part_size"));
    EXPECT_THAT(run.out, ContainsRegex(sink + "write probe object 'db/nightly/\\.backhaul-check-[0-9a-f]{16}'"));
    for (const char* step :
         {"read it back: identical", "stat it: ", "list finds it", "remove it: gone from the listing"})
        EXPECT_THAT(run.out, HasSubstr(std::string("✓ sink (sink-ncloud-s3): ") + step));
    EXPECT_THAT(run.out, HasSubstr("pipeline 'nightly': every check passed"));
    EXPECT_EQ(keys_left(kBucket), "");
}

TEST_F(SwiftCheck, KeyThatMayNotWriteNamesThePermission) {
    s3().upload(kReadOnlyBucket, "db/nightly/20260101-000000.gz", "an older backup");
    CommandResult run = check(pipeline(kReadOnlyBucket), SwiftS3::reader);
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    // Reading works: the listing passes, and the write is what fails, with the action to grant.
    EXPECT_THAT(run.out, HasSubstr("✓ sink (sink-ncloud-s3): list s3://checks-read-only at "));
    EXPECT_THAT(run.out, ContainsRegex(
                             "✗ sink \\(sink-ncloud-s3\\): multipart upload to s3://checks-read-only/db/nightly/"
                             "\\.backhaul-check-[0-9a-f]{16} \\(create, upload a part, abort\\): CreateMultipartUpload "
                             "s3://checks-read-only/db/nightly/\\.backhaul-check-[0-9a-f]{16} failed: AccessDenied: "
                             "[^\n]*\\(HTTP 403\\); the key is not allowed s3:PutObject on s3://checks-read-only/db/"
                             "nightly/\\.backhaul-check-[0-9a-f]{16}; [^\n]* — fix: grant the key the permission: "
                             "s3:PutObject on s3://checks-read-only/\\*"));
    EXPECT_THAT(run.out, HasSubstr("- sink (sink-ncloud-s3): probe object: not checked: the sink's own checks failed "
                                   "above; fix those first"));
    EXPECT_THAT(run.out, Not(HasSubstr("write probe object")));
    EXPECT_THAT(run.out, HasSubstr("pipeline 'nightly': 1 check(s) FAILED"));
    EXPECT_EQ(keys_left(kReadOnlyBucket), "db/nightly/20260101-000000.gz");
}

TEST_F(SwiftCheck, WrongSecretKeySaysWhichOptionToFix) {
    CommandResult run = check(pipeline(kBucket), S3User{SwiftS3::admin.access_key, "not-the-secret"});
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    EXPECT_THAT(run.out, ContainsRegex("✗ sink \\(sink-ncloud-s3\\): list s3://checks at [^\n]*: ListObjects "
                                       "s3://checks/db/nightly/\\.backhaul-check-[0-9a-f]{16} failed: "
                                       "SignatureDoesNotMatch: [^\n]* — fix: check secret_key, and that access_key "
                                       "belongs to it"));
    // One cause, not one line per call: the multipart probe is not tried with a key that cannot sign.
    EXPECT_THAT(run.out, Not(HasSubstr("multipart upload to")));
    EXPECT_THAT(run.out, HasSubstr("- sink (sink-ncloud-s3): probe object: not checked"));
    // Only where the keys came from passes: nothing signed with them does.
    EXPECT_THAT(run.out, HasSubstr("✓ sink (sink-ncloud-s3): credentials: from the access_key and secret_key options\n"
                                   "✗ sink (sink-ncloud-s3): list s3://checks"));
    EXPECT_EQ(run.out.find("✓ sink"), run.out.rfind("✓ sink"));
    EXPECT_THAT(run.out, HasSubstr("pipeline 'nightly': 1 check(s) FAILED"));
    EXPECT_EQ(keys_left(kBucket), "");
}

}  // namespace
}  // namespace backhaul::testing
