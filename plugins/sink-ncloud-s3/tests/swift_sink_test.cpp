// sink-ncloud-s3 through its C ABI (the test harness), against Swift: list with pagination, stat, read, remove,
// prompt cancellation of a stuck upload, and never replacing an object another client stored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "fault_proxy.hpp"
#include "plugin_harness.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using harness::Instance;
using harness::ObjectInfo;
using harness::OptionList;
using harness::Plugin;
using harness::StreamResult;

constexpr const char* kBucket = "sinkcalls";

const Plugin& s3_plugin() {
    static const Plugin plugin("sink-ncloud-s3");
    return plugin;
}

OptionList options(const std::string& endpoint, OptionList extra = {}) {
    OptionList out = {{"endpoint", endpoint},
                      {"region", "us-east-1"},
                      {"bucket", kBucket},
                      {"access_key", SwiftS3::admin.access_key},
                      {"secret_key", SwiftS3::admin.secret_key},
                      {"part_size", int64_t{5 << 20}},
                      {"connect_timeout", int64_t{5000}},
                      {"request_timeout", int64_t{30000}}};
    for (auto& option : extra) {
        std::erase_if(out, [&](const auto& o) { return o.first == option.first; });
        out.push_back(std::move(option));
    }
    return out;
}

std::string pattern(size_t size) {
    std::string data(size, '\0');
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 7919) >> 3);
    return data;
}

class SwiftSink : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { SwiftS3::instance().create_bucket(kBucket); }
    SwiftS3& s3() { return SwiftS3::instance(); }
};

TEST_F(SwiftSink, DescriptorDeclaresTheOptionsOfTheReadme) {
    const bh_plugin_descriptor& d = s3_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_SINK);
    std::vector<std::string> names;
    for (uint32_t i = 0; i < d.option_count; ++i) names.push_back(d.options[i].name);
    EXPECT_THAT(names,
                ::testing::ElementsAre("endpoint", "region", "bucket", "access_key", "secret_key", "session_token",
                                       "profile", "addressing", "part_size", "concurrency", "storage_class", "metadata",
                                       "ca_file", "insecure_http", "connect_timeout", "request_timeout", "max_retries",
                                       "list_page_size", "conditional_writes"));
    // Optional: left out, the keys come from the environment or ~/.aws (swift_credentials_test.cpp).
    EXPECT_EQ(d.options[3].flags, 0u);
    EXPECT_EQ(d.options[4].flags, uint32_t{BH_OPT_SECRET});
    EXPECT_EQ(d.options[5].flags, uint32_t{BH_OPT_SECRET});
}

// create runs the plugin's validate first (the rest of the static checks are in s3_validate_test.cpp).
TEST_F(SwiftSink, RejectsOptionsThatCannotWork) {
    Instance insecure(s3_plugin(), options("http://10.1.2.3:9000", {{"insecure_http", true}}));
    EXPECT_EQ(insecure.create_status(), BH_OK) << insecure.last_error();
    Instance not_url(s3_plugin(), options("kr.object.ncloudstorage.com"));
    EXPECT_EQ(not_url.create_status(), BH_INVALID_CONFIG);
    EXPECT_EQ(not_url.last_error(),
              "option 'endpoint': must be an http:// or https:// URL (scheme://host[:port][/path], no user info)");
}

TEST_F(SwiftSink, ListPaginatesStatReadsAndRemoveDeletes) {
    Instance sink(s3_plugin(), options(s3().endpoint(), {{"list_page_size", 2}}));
    ASSERT_EQ(sink.create_status(), BH_OK) << sink.last_error();
    std::vector<std::string> keys = {"list/a", "list/b b", "list/c+c", "list/d%d", "list/한글", "other/x"};
    for (const std::string& key : keys) {
        StreamResult stored = sink.store(key, "content of " + key);
        ASSERT_EQ(stored.status, BH_OK) << stored.error;
    }

    std::vector<ObjectInfo> listed;
    ASSERT_EQ(sink.list("list/", listed), BH_OK) << sink.last_error();
    std::vector<std::string> names;
    for (const ObjectInfo& o : listed) names.push_back(o.key);
    EXPECT_THAT(names, ::testing::ElementsAre("list/a", "list/b b", "list/c+c", "list/d%d", "list/한글"));
    EXPECT_EQ(listed[1].size, static_cast<int64_t>(std::string("content of list/b b").size()));
    auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    EXPECT_NEAR(static_cast<double>(listed[0].mtime_unix_ms), static_cast<double>(now_ms), 120'000.0);

    std::vector<ObjectInfo> first_two;
    ASSERT_EQ(sink.list("list/", first_two, 2), BH_OK);
    EXPECT_EQ(first_two.size(), 2u);

    ObjectInfo info;
    ASSERT_EQ(sink.stat("list/한글", info), BH_OK) << sink.last_error();
    EXPECT_EQ(info.size, static_cast<int64_t>(std::string("content of list/한글").size()));
    EXPECT_EQ(sink.stat("list/missing", info), BH_FATAL);
    EXPECT_EQ(sink.last_error(), "object 'list/missing' not found");

    StreamResult read = sink.read_object("list/c+c");
    EXPECT_EQ(read.status, BH_END_OF_STREAM) << read.error;
    EXPECT_EQ(read.data, "content of list/c+c");

    ASSERT_EQ(sink.remove({"list/a"}), BH_OK) << sink.last_error();
    ASSERT_EQ(sink.remove({"list/b b", "list/c+c", "list/d%d", "list/never-existed"}), BH_OK) << sink.last_error();
    listed.clear();
    ASSERT_EQ(sink.list("list/", listed), BH_OK);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].key, "list/한글");
    ASSERT_EQ(sink.remove({"list/한글", "other/x"}), BH_OK);
}

TEST_F(SwiftSink, ReadsALargeObjectInParallelRanges) {
    Instance sink(s3_plugin(), options(s3().endpoint(), {{"concurrency", 3}}));
    ASSERT_EQ(sink.create_status(), BH_OK) << sink.last_error();
    std::string data = pattern((17 << 20) + 12345);  // four parts, four ranges
    ASSERT_EQ(sink.store("ranges/big.bin", data).status, BH_OK) << sink.last_error();
    StreamResult read = sink.read_object("ranges/big.bin", 1 << 20);
    EXPECT_EQ(read.status, BH_END_OF_STREAM) << read.error;
    EXPECT_TRUE(read.data == data) << "ranged read differs";
    StreamResult missing = sink.read_object("ranges/missing.bin");
    EXPECT_EQ(missing.status, BH_FATAL);
    EXPECT_EQ(missing.error, "object 'ranges/missing.bin' not found");
}

TEST_F(SwiftSink, VirtualHostAddressingStoresListsReadsAndRemoves) {
    // Swift's s3api takes the bucket from the Host header when it ends in its storage_domain ("localhost", set by
    // swift_s3_server.py), and curl resolves <bucket>.localhost to loopback by itself.
    const std::string endpoint = "http://localhost:" + std::to_string(s3().port());
    Instance sink(s3_plugin(), options(endpoint, {{"addressing", "virtual"}}));
    ASSERT_EQ(sink.create_status(), BH_OK) << sink.last_error();
    const std::string big = pattern((11 << 20) + 7);  // three parts
    ASSERT_EQ(sink.store("virtual/big one.bin", big).status, BH_OK) << sink.last_error();
    ASSERT_EQ(sink.store("virtual/작은.txt", "small").status, BH_OK) << sink.last_error();

    // Stored in the bucket itself: an independent path-style client reads them back.
    EXPECT_TRUE(s3().download(kBucket, "virtual/big one.bin") == big) << "path-style download differs";
    EXPECT_EQ(s3().download(kBucket, "virtual/작은.txt"), "small");

    std::vector<ObjectInfo> listed;
    ASSERT_EQ(sink.list("virtual/", listed), BH_OK) << sink.last_error();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].key, "virtual/big one.bin");
    EXPECT_EQ(listed[0].size, static_cast<int64_t>(big.size()));
    StreamResult read = sink.read_object("virtual/big one.bin", 1 << 20);
    EXPECT_EQ(read.status, BH_END_OF_STREAM) << read.error;
    EXPECT_TRUE(read.data == big) << "virtual-host read differs";

    ASSERT_EQ(sink.remove({"virtual/big one.bin", "virtual/작은.txt"}), BH_OK) << sink.last_error();
    listed.clear();
    ASSERT_EQ(sink.list("virtual/", listed), BH_OK);
    EXPECT_TRUE(listed.empty());
}

TEST_F(SwiftSink, CancellationStopsAStuckUploadPromptlyAndAbortLeavesNothing) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::stall, "PUT", "partNumber=", -1, 0, ""});
    Instance sink(s3_plugin(), options(proxy.endpoint(), {{"concurrency", 2}}));
    ASSERT_EQ(sink.create_status(), BH_OK) << sink.last_error();
    harness::Upload upload(sink, "cancel/stuck.bin");
    ASSERT_EQ(upload.begin_status(), BH_OK);
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        sink.host().cancel();
    });
    auto start = std::chrono::steady_clock::now();
    std::string chunk = pattern(1 << 20);
    bh_status status = BH_OK;
    for (int i = 0; i < 40 && status == BH_OK; ++i) status = upload.write(chunk);  // the part buffers fill up
    canceller.join();
    EXPECT_EQ(status, BH_CANCELLED);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
    upload.abort();
    EXPECT_FALSE(s3().exists(kBucket, "cancel/stuck.bin"));
    EXPECT_EQ(s3().pending_uploads(kBucket), "");
}

// ---- Never overwrite -------------------------------------------------------------------------------------------
// The AWS CLI stands for the other writer. Swift 2.30 refuses If-None-Match on PutObject (501) and honours it on
// CompleteMultipartUpload, so "header" is exercised where Swift can enforce it: on multipart uploads.

struct OverwriteCase {
    std::string name;
    std::string mode;  // conditional_writes
    size_t size;       // bytes the run writes: below 5 MiB one PutObject, above it a multipart upload

    friend void PrintTo(const OverwriteCase& c, std::ostream* os) { *os << c.name; }
};

class NeverOverwrite : public SwiftSink, public ::testing::WithParamInterface<OverwriteCase> {
  protected:
    std::string prefix() const { return "never-overwrite/" + GetParam().name + "/"; }
    std::unique_ptr<Instance> sink() {
        auto out = std::make_unique<Instance>(s3_plugin(),
                                              options(s3().endpoint(), {{"conditional_writes", GetParam().mode}}));
        EXPECT_EQ(out->create_status(), BH_OK) << out->last_error();
        return out;
    }
};

TEST_P(NeverOverwrite, ObjectStoredAfterBeginFailsTheCommitAndStaysIntact) {
    std::unique_ptr<Instance> s = sink();
    std::string key = prefix() + "raced.bin";
    harness::Upload upload(*s, key);
    ASSERT_EQ(upload.begin_status(), BH_OK) << s->last_error();
    ASSERT_EQ(upload.write(pattern(GetParam().size)), BH_OK) << s->last_error();
    s3().upload(kBucket, key, "stored by another client");
    EXPECT_EQ(upload.commit(), BH_FATAL);
    EXPECT_EQ(s->last_error(), "object '" + key + "' already exists; not overwritten");
    EXPECT_EQ(s3().download(kBucket, key), "stored by another client");
    EXPECT_EQ(s3().pending_uploads(kBucket, prefix()), "");
}

TEST_P(NeverOverwrite, UploadsUnderAFreeKeyStillWork) {
    std::unique_ptr<Instance> s = sink();
    std::string key = prefix() + "free.bin";
    std::string data = pattern(GetParam().size);
    StreamResult stored = s->store(key, data);
    ASSERT_EQ(stored.status, BH_OK) << stored.error;
    EXPECT_TRUE(s3().download(kBucket, key) == data) << "object differs from the input";
    EXPECT_EQ(s3().pending_uploads(kBucket, prefix()), "");
}

INSTANTIATE_TEST_SUITE_P(Swift, NeverOverwrite,
                         ::testing::Values(OverwriteCase{"AutoPutObject", "auto", 1000},
                                           OverwriteCase{"AutoMultipart", "auto", (6 << 20) + 17},
                                           OverwriteCase{"CheckPutObject", "check", 0},
                                           OverwriteCase{"CheckMultipart", "check", (6 << 20) + 17},
                                           OverwriteCase{"HeaderMultipart", "header", (6 << 20) + 17}),
                         [](const ::testing::TestParamInfo<OverwriteCase>& info) { return info.param.name; });

TEST_F(SwiftSink, BeginOnAnExistingKeyFailsBeforeAnyByteIsSent) {
    const std::string key = "never-overwrite/begin/existing.bin";
    s3().upload(kBucket, key, "the only good backup");
    for (const char* mode : {"auto", "check"}) {
        Instance sink(s3_plugin(), options(s3().endpoint(), {{"conditional_writes", mode}}));
        ASSERT_EQ(sink.create_status(), BH_OK) << sink.last_error();
        harness::Upload upload(sink, key);
        EXPECT_EQ(upload.begin_status(), BH_FATAL) << mode;
        EXPECT_EQ(sink.last_error(), "object '" + key + "' already exists; not overwritten") << mode;
    }
    EXPECT_EQ(s3().download(kBucket, key), "the only good backup");
}

TEST_F(SwiftSink, HeaderOnlyModeSaysSoWhereTheStoreRefusesTheHeader) {
    Instance sink(s3_plugin(), options(s3().endpoint(), {{"conditional_writes", "header"}}));
    ASSERT_EQ(sink.create_status(), BH_OK) << sink.last_error();
    StreamResult stored = sink.store("never-overwrite/header-put/small.bin", "small");
    EXPECT_EQ(stored.status, BH_FATAL);
    EXPECT_THAT(stored.error, ::testing::HasSubstr("PutObject s3://sinkcalls/never-overwrite/header-put/small.bin "
                                                   "failed: NotImplemented"));
    EXPECT_THAT(stored.error, ::testing::EndsWith("(HTTP 501); this store does not support If-None-Match here: set "
                                                  "conditional_writes = \"auto\""));
    EXPECT_FALSE(s3().exists(kBucket, "never-overwrite/header-put/small.bin"));
}

}  // namespace
}  // namespace backhaul::testing
