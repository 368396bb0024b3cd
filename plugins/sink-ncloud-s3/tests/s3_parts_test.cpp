// Unit tests of the pieces that need no server: part sizes, XML handling, S3 error mapping, list pages, delete bodies,
// the shared retry policy and URL rules.
#include <gtest/gtest.h>

#include <backhaul/support/http/http_client.hpp>
#include <backhaul/support/http/retry_policy.hpp>

#include "bucket_listing.hpp"
#include "object_deletion.hpp"
#include "part_plan.hpp"
#include "s3_config.hpp"
#include "s3_error.hpp"
#include "s3_xml.hpp"

namespace backhaul::s3 {
namespace {

constexpr uint64_t MiB = 1ull << 20;

// docs/memory.md: unset options are sized from the share, set ones are kept; buffers shrink as parts grow.
TEST(BufferPlan, UnsetOptionsAreSizedFromTheMemoryShare) {
    // The default share of a zstd -> S3 pipeline: 5 MiB parts (S3's least), three buffers, 15 MiB in all.
    BufferPlan plan = plan_buffers(std::nullopt, std::nullopt, 33 * MiB / 2);
    EXPECT_EQ(plan.part_size, 5 * MiB);
    EXPECT_EQ(plan.concurrency, 3);
    EXPECT_LE(plan.part_size * static_cast<uint64_t>(plan.concurrency), 33 * MiB / 2);
    // A larger share: a quarter of it per part, up to 16 MiB, and as many buffers as fit, up to 16.
    plan = plan_buffers(std::nullopt, std::nullopt, 40 * MiB);
    EXPECT_EQ(plan.part_size, 10 * MiB);
    EXPECT_EQ(plan.concurrency, 4);
    plan = plan_buffers(std::nullopt, std::nullopt, 1024 * MiB);
    EXPECT_EQ(plan.part_size, 16 * MiB);
    EXPECT_EQ(plan.concurrency, 16);
    // The least share still has one part filling and one on its way.
    plan = plan_buffers(std::nullopt, std::nullopt, kBufferMemoryMin);
    EXPECT_EQ(plan.part_size, 5 * MiB);
    EXPECT_EQ(plan.concurrency, 2);
}

TEST(BufferPlan, WhatTheOperatorSetIsKept) {
    BufferPlan plan = plan_buffers(64 * MiB, 8, 16 * MiB);
    EXPECT_EQ(plan.part_size, 64 * MiB);
    EXPECT_EQ(plan.concurrency, 8);
    EXPECT_EQ(buffers_for(plan, 128 * MiB), 8u);  // both set: the share does not cap them
    // One set: the other from the share.
    plan = plan_buffers(8 * MiB, std::nullopt, 33 * MiB);
    EXPECT_EQ(plan.concurrency, 4);
    plan = plan_buffers(std::nullopt, 2, 33 * MiB);
    EXPECT_EQ(plan.part_size, 8 * MiB);
    EXPECT_EQ(plan.concurrency, 2);
    // A host without budgets (ABI < 1.4): the old defaults.
    plan = plan_buffers(std::nullopt, std::nullopt, 0);
    EXPECT_EQ(plan.part_size, 16 * MiB);
    EXPECT_EQ(plan.concurrency, 4);
    EXPECT_EQ(buffers_for(plan, 1024 * MiB), 4u);
}

TEST(BufferPlan, FewerBuffersExistOnceGrownPartsPassTheShare) {
    const BufferPlan plan = plan_buffers(std::nullopt, std::nullopt, 33 * MiB / 2);
    EXPECT_EQ(buffers_for(plan, part_size_for(plan.part_size, 1)), 3u);
    EXPECT_EQ(buffers_for(plan, part_size_for(plan.part_size, 901)), 2u);   // 10 MiB parts
    EXPECT_EQ(buffers_for(plan, part_size_for(plan.part_size, 1801)), 2u);  // 20 MiB: never fewer than 2
}

TEST(PartPlan, KeepsThePartSizeForTheFirst900PartsThenDoubles) {
    EXPECT_EQ(part_size_for(16 * MiB, 1), 16 * MiB);
    EXPECT_EQ(part_size_for(16 * MiB, 900), 16 * MiB);
    EXPECT_EQ(part_size_for(16 * MiB, 901), 32 * MiB);
    EXPECT_EQ(part_size_for(16 * MiB, 1801), 64 * MiB);
    EXPECT_EQ(part_size_for(16 * MiB, 10000), kMaxPartSize);  // 16 MiB * 512 would pass S3's 5 GiB cap
}

TEST(PartPlan, TenThousandMinimumPartsHoldFiveTebibytes) {
    uint64_t total = 0;
    for (uint32_t n = 1; n <= kMaxParts; ++n) {
        uint64_t size = part_size_for(kMinPartSize, n);
        EXPECT_GE(size, kMinPartSize);
        EXPECT_LE(size, kMaxPartSize);
        total += size;
    }
    EXPECT_GE(total, 5ull << 40);
}

TEST(Xml, FindsElementsAndDecodesEntities) {
    std::string xml =
        "<?xml version=\"1.0\"?><R><Key>a &amp; b&#x20;&lt;&#54620;&gt;</Key><Keys>no</Keys>"
        "<Key/><Key attr=\"1\">c</Key></R>";
    auto keys = xml_elements(xml, "Key");
    ASSERT_EQ(keys.size(), 3u);
    EXPECT_EQ(xml_unescape(keys[0]), "a & b <한>");
    EXPECT_EQ(keys[1], "");
    EXPECT_EQ(keys[2], "c");
    EXPECT_EQ(xml_text(xml, "Missing"), std::nullopt);
    EXPECT_TRUE(xml_root_is(xml, "R"));
    EXPECT_FALSE(xml_root_is(xml, "Error"));
    EXPECT_EQ(xml_escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
}

TEST(S3Errors, NameTheCodeMessageAndHint) {
    http::Response response;
    response.status = 403;
    response.body =
        "<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The "
        "request signature we calculated does not match the signature you provided.</Message></Error>";
    S3Error error = make_error("PutObject s3://b/k", response, "us-east-1");
    EXPECT_STREQ(error.what(),
                 "PutObject s3://b/k failed: SignatureDoesNotMatch: The request signature we calculated does not match "
                 "the signature you provided. (HTTP 403); check secret_key (and that access_key belongs to it)");
    EXPECT_EQ(error.status(), Status::fatal);
    EXPECT_EQ(error.code(), "SignatureDoesNotMatch");
}

TEST(S3Errors, ClockSkewHintShowsTheServerTime) {
    http::Response response;
    response.status = 403;
    response.headers = {{"date", "Tue, 24 Nov 2026 17:51:27 GMT"}};
    response.body =
        "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and "
        "the current time is too large.</Message></Error>";
    EXPECT_STREQ(make_error("ListObjects s3://b/", response, "r").what(),
                 "ListObjects s3://b/ failed: RequestTimeTooSkewed: The difference between the request time and the "
                 "current time is too large. (HTTP 403); this machine's clock is off by more than 15 minutes; "
                 "synchronise it (NTP); the server's time is Tue, 24 Nov 2026 17:51:27 GMT");
}

TEST(S3Errors, SlowDownAndServerErrorsAreRetryableClientErrorsAreNot) {
    http::Response slow;
    slow.status = 503;
    slow.body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    EXPECT_EQ(make_error("op", slow, "r").status(), Status::retryable);
    http::Response timeout;
    timeout.status = 400;
    timeout.body = "<Error><Code>RequestTimeout</Code><Message>m</Message></Error>";
    EXPECT_EQ(make_error("op", timeout, "r").status(), Status::retryable);
    http::Response denied;
    denied.status = 403;
    EXPECT_EQ(make_error("op", denied, "r").status(), Status::fatal);
    EXPECT_STREQ(make_error("HeadObject s3://b/k", denied, "r").what(),
                 "HeadObject s3://b/k failed: Forbidden (HTTP 403); the key is not allowed s3:GetObject on s3://b/k; "
                 "grant it in the key's or the bucket's policy");
    // The IAM action each request needs, as `check` and a failed run name it.
    EXPECT_STREQ(make_error("UploadPart 3 of s3://b/k", denied, "r").what(),
                 "UploadPart 3 of s3://b/k failed: Forbidden (HTTP 403); the key is not allowed s3:PutObject on "
                 "s3://b/k; grant it in the key's or the bucket's policy");
    EXPECT_STREQ(
        make_error("DeleteObjects s3://b (2 keys)", denied, "r").what(),
        "DeleteObjects s3://b (2 keys) failed: Forbidden (HTTP 403); the key is not allowed s3:DeleteObject on "
        "s3://b; grant it in the key's or the bucket's policy");
    EXPECT_STREQ(make_error("op", denied, "r").what(),
                 "op failed: Forbidden (HTTP 403); the key is not allowed to do this on the bucket; check its "
                 "permissions");
    EXPECT_EQ(permission_for("AbortMultipartUpload s3://b/k"), "s3:AbortMultipartUpload");
    EXPECT_EQ(permission_for("ListObjects s3://b/p"), "s3:ListBucket");
    EXPECT_EQ(permission_for("CompleteMultipartUpload s3://b/k"), "s3:PutObject");
}

TEST(ListPage, DecodesUrlEncodedKeysAndFindsTheNextMarker) {
    std::string xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>b</Name><Prefix></Prefix><Marker></Marker>"
        "<MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
        "<Contents><Key>a%20b%2Bc%25d%20%ED%95%9C</Key><LastModified>2026-05-01T03:00:00.250Z</LastModified>"
        "<ETag>&quot;x&quot;</ETag><Size>12</Size></Contents>"
        "<Contents><Key>z+z</Key><LastModified>2026-05-01T03:00:01.000Z</LastModified><Size>0</Size></Contents>"
        "</ListBucketResult>";
    ListPage page = parse_list_page(xml);
    ASSERT_EQ(page.objects.size(), 2u);
    EXPECT_EQ(page.objects[0].key, "a b+c%d 한");
    EXPECT_EQ(page.objects[0].size, 12);
    EXPECT_EQ(page.objects[0].mtime_unix_ms, 1777604400250);
    EXPECT_EQ(page.objects[1].key, "z z");
    EXPECT_TRUE(page.truncated);
    EXPECT_EQ(page.next_marker, "z z");
}

TEST(Dates, ParseHttpDate) { EXPECT_EQ(parse_http_date_ms("Fri, 01 May 2026 03:00:00 GMT"), 1777604400000); }

TEST(DeleteBody, EscapesKeysAndIsQuiet) {
    std::vector<std::string> keys = {"skip", "a&b<c>", "d"};
    EXPECT_EQ(delete_request_body(keys, 1, 2),
              "<Delete><Quiet>true</Quiet><Object><Key>a&amp;b&lt;c&gt;</Key></Object><Object><Key>d</Key></Object>"
              "</Delete>");
}

TEST(MetadataHeader, LowerCasesNamesAndEncodesNonAscii) {
    EXPECT_EQ(metadata_header("Pipeline", "nightly db"),
              std::make_pair(std::string("x-amz-meta-pipeline"), std::string("nightly db")));
    EXPECT_EQ(metadata_header("p", "한"), std::make_pair(std::string("x-amz-meta-p"), std::string("%ED%95%9C")));
}

TEST(RetryPolicy, DelaysStayWithinTheExponentialCap) {
    http::RetryPolicy policy;
    policy.initial_delay = std::chrono::milliseconds(100);
    policy.max_delay = std::chrono::milliseconds(1000);
    for (int i = 0; i < 200; ++i) {
        EXPECT_LE(policy.delay_before(1).count(), 100);
        EXPECT_LE(policy.delay_before(3).count(), 400);
        EXPECT_LE(policy.delay_before(20).count(), 1000);
    }
}

TEST(RetryPolicy, RetriesUntilFinishedOrExhausted) {
    http::RetryPolicy policy;
    policy.max_retries = 3;
    policy.initial_delay = std::chrono::milliseconds(1);
    int calls = 0;
    EXPECT_EQ(policy.run([&](int) { return ++calls < 3 ? http::Attempt::retry : http::Attempt::finished; }, {}),
              http::RetryOutcome::finished);
    EXPECT_EQ(calls, 3);
    calls = 0;
    std::vector<int> retries;
    EXPECT_EQ(policy.run([&](int) { return ++calls, http::Attempt::retry; }, {},
                         [&](int retry, std::chrono::milliseconds) { retries.push_back(retry); }),
              http::RetryOutcome::exhausted);
    EXPECT_EQ(calls, 4);
    EXPECT_EQ(retries, (std::vector<int>{1, 2, 3}));
}

TEST(RetryPolicy, StopsWaitingWhenCancelled) {
    http::RetryPolicy policy;
    policy.initial_delay = std::chrono::milliseconds(60'000);
    policy.max_delay = std::chrono::milliseconds(60'000);
    auto start = std::chrono::steady_clock::now();
    int polls = 0;
    // The first wait draws a delay of up to a minute; the cancellation seen on the second poll ends it.
    http::RetryOutcome outcome = policy.run([](int) { return http::Attempt::retry; }, [&] { return ++polls > 1; });
    EXPECT_TRUE(outcome == http::RetryOutcome::cancelled || outcome == http::RetryOutcome::exhausted);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(RetryRules, TransportErrorsAndServerStatuses) {
    http::Result reset;
    reset.error = http::TransportError{http::TransportError::Kind::transfer, "Connection reset by peer"};
    EXPECT_TRUE(http::is_retryable(reset));
    http::Result tls;
    tls.error = http::TransportError{http::TransportError::Kind::tls, "certificate verify failed"};
    EXPECT_FALSE(http::is_retryable(tls));
    for (long status : {500L, 502L, 503L, 504L, 429L, 408L}) EXPECT_TRUE(http::is_retryable_status(status)) << status;
    for (long status : {400L, 403L, 404L, 501L}) EXPECT_FALSE(http::is_retryable_status(status)) << status;
}

TEST(Url, ParsesAndRecognisesLoopback) {
    auto url = http::parse_url("https://kr.object.ncloudstorage.com");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->scheme, "https");
    EXPECT_EQ(url->host, "kr.object.ncloudstorage.com");
    EXPECT_EQ(url->port, 0);
    EXPECT_EQ(http::host_header(*url), "kr.object.ncloudstorage.com");
    auto local = http::parse_url("http://127.0.0.1:8080/s3/");
    ASSERT_TRUE(local);
    EXPECT_EQ(local->port, 8080);
    EXPECT_EQ(local->path, "/s3/");
    EXPECT_EQ(http::host_header(*local), "127.0.0.1:8080");
    auto v6 = http::parse_url("http://[::1]:9000");
    ASSERT_TRUE(v6);
    EXPECT_EQ(http::host_header(*v6), "[::1]:9000");
    EXPECT_FALSE(http::parse_url("kr.object.ncloudstorage.com"));
    EXPECT_FALSE(http::parse_url("https://user:pw@host/"));
    EXPECT_TRUE(http::is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(http::is_loopback_host("127.1.2.3"));
    EXPECT_TRUE(http::is_loopback_host("localhost"));
    EXPECT_TRUE(http::is_loopback_host("::1"));
    EXPECT_FALSE(http::is_loopback_host("127.0.0.1.example.com"));
    EXPECT_FALSE(http::is_loopback_host("10.0.0.1"));
}

}  // namespace
}  // namespace backhaul::s3
