// sink-ncloud-s3's static checks through its C ABI, without a store: the validate entry `backhaul validate` calls
// (endpoint, region, bucket naming rules, storage class, metadata names, values from unfetched secrets left alone)
// and the limits the host enforces (S3's part sizes among them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command_runner.hpp"
#include "plugin_harness.hpp"

namespace backhaul {
namespace {

using Problem = harness::Validation::Problem;
using ::testing::HasSubstr;

harness::OptionList with(harness::OptionList extra) {
    return harness::overridden({{"bucket", "db-backups"}, {"access_key", "AK"}, {"secret_key", "SK"}}, extra);
}

const harness::Plugin& s3() {
    static const harness::Plugin plugin("sink-ncloud-s3");
    return plugin;
}

// The single problem validate reports for `options`; fails the test if there is not exactly one.
Problem only_problem(const harness::OptionList& options) {
    harness::Validation v = harness::validate(s3(), options);
    EXPECT_EQ(v.status, BH_INVALID_CONFIG);
    EXPECT_EQ(v.problems.size(), 1u);
    return v.problems.empty() ? Problem{} : v.problems.front();
}

TEST(S3Validate, AcceptsTheReadmeExamples) {
    for (const harness::OptionList& options :
         {with({}), with({{"endpoint", "https://us.object.ncloudstorage.com"}, {"region", "us-standard"}}),
          with({{"endpoint", "https://s3.eu-west-1.amazonaws.com"}, {"region", "eu-west-1"}}),
          with({{"endpoint", "http://127.0.0.1:8080/"}, {"region", "RegionOne"}, {"bucket", "my.backups.2024"}}),
          with({{"storage_class", "STANDARD_IA"}, {"metadata", harness::Table{{"Team", "ops"}}}}),
          with({{"endpoint", "http://minio.internal:9000"}, {"insecure_http", true}}),
          with({{"session_token", "FwoGZXIvYXdzE"}}), harness::OptionList{{"bucket", "db-backups"}},
          harness::OptionList{{"bucket", "db-backups"}, {"profile", "ncloud"}}}) {
        harness::Validation v = harness::validate(s3(), options);
        EXPECT_EQ(v.status, BH_OK);
        for (const Problem& p : v.problems) ADD_FAILURE() << p.option << ": " << p.message;
    }
}

TEST(S3Validate, RefusesEndpointsThatAreNotHttpUrlsOrPlainHttpToARemoteHost) {
    for (const char* endpoint : {"kr.object.ncloudstorage.com", "ftp://kr.object.ncloudstorage.com",
                                 "https://key:secret@kr.object.ncloudstorage.com", "https://bad host/"})
        EXPECT_EQ(only_problem(with({{"endpoint", endpoint}})).option, "endpoint") << endpoint;
    EXPECT_EQ(only_problem(with({{"endpoint", "http://10.1.2.3:9000"}})),
              (Problem{"endpoint", "plain http to a remote host is refused; use https, or set insecure_http = true"}));
}

TEST(S3Validate, RefusesBucketNamesS3Refuses) {
    for (const char* bucket : {"DB-Backups", "db_backups", "-backups", "backups-", "db..backups", "192.168.1.1",
                               "xn--backups", "backups-s3alias", "db/backups"}) {
        Problem p = only_problem(with({{"bucket", bucket}}));
        EXPECT_EQ(p.option, "bucket") << bucket;
        EXPECT_THAT(p.message, HasSubstr("must")) << bucket;
    }
    // Their lengths are the limits' (3 to 63).
    EXPECT_FALSE(harness::within_limits(s3(), "bucket", 2));
    EXPECT_TRUE(harness::within_limits(s3(), "bucket", 3));
    EXPECT_TRUE(harness::within_limits(s3(), "bucket", 63));
    EXPECT_FALSE(harness::within_limits(s3(), "bucket", 64));
}

TEST(S3Validate, RefusesADottedBucketWithVirtualAddressingOverHttps) {
    EXPECT_EQ(only_problem(with({{"bucket", "my.backups"}, {"addressing", "virtual"}})),
              (Problem{"bucket", "contains '.', which breaks TLS with virtual addressing; use addressing = \"path\""}));
    EXPECT_EQ(harness::validate(s3(), with({{"bucket", "my.backups"}, {"addressing", "path"}})).status, BH_OK);
    EXPECT_EQ(harness::validate(s3(), with({{"bucket", "my-backups"}, {"addressing", "virtual"}})).status, BH_OK);
}

TEST(S3Validate, RefusesRegionsStorageClassesAndMetadataNamesThatBreakRequests) {
    EXPECT_EQ(only_problem(with({{"region", "kr/standard"}})).option, "region");
    EXPECT_EQ(only_problem(with({{"storage_class", "standard\r\nx-evil: 1"}})).option, "storage_class");
    EXPECT_EQ(only_problem(with({{"metadata", harness::Table{{"bad name", "x"}}}})),
              (Problem{"metadata", "name 'bad name' is not a valid header name (printable ASCII, no ' ' or ':')"}));
}

// Both keys or neither (then the AWS CLI's chain at run time); a token belongs to a pair; a profile is another
// source, so it cannot be combined with the keys that would always win over it.
TEST(S3Validate, RefusesHalfAKeyPairATokenWithoutKeysAndAProfileWithKeys) {
    const harness::OptionList bucket = {{"bucket", "db-backups"}};
    EXPECT_EQ(only_problem(harness::overridden(bucket, {{"access_key", "AK"}})),
              (Problem{"access_key",
                       "is set without secret_key; set both, or neither to take credentials from the "
                       "environment or ~/.aws"}));
    EXPECT_EQ(only_problem(harness::overridden(bucket, {{"secret_key", "SK"}})).option, "secret_key");
    EXPECT_EQ(only_problem(harness::overridden(bucket, {{"session_token", "T"}})),
              (Problem{"session_token", "needs access_key and secret_key (the token belongs to that pair)"}));
    EXPECT_EQ(only_problem(with({{"profile", "ncloud"}})),
              (Problem{"profile",
                       "cannot be used with access_key, which take precedence over any profile; remove "
                       "one or the other"}));
    EXPECT_EQ(only_problem(harness::overridden(bucket, {{"profile", "a]b"}})).option, "profile");
    // A key from an unfetched secret is set, if not yet known: the pair is complete.
    EXPECT_EQ(harness::validate(s3(), with({}), {"secret_key"}).status, BH_OK);
    EXPECT_FALSE(harness::within_limits(s3(), "profile", 129));
    EXPECT_TRUE(harness::within_limits(s3(), "profile", 128));
}

TEST(S3Validate, ReportsEveryProblemAtOnce) {
    harness::Validation v = harness::validate(
        s3(), with({{"endpoint", "ftp://x"}, {"region", "a b"}, {"bucket", "Bad_Bucket"}, {"storage_class", "x"}}));
    std::vector<std::string> options;
    for (const Problem& p : v.problems) options.push_back(p.option);
    EXPECT_EQ(options, (std::vector<std::string>{"endpoint", "region", "bucket", "storage_class"}));
}

// `bucket = "${secret:s3.bucket}"` is unknown to `backhaul validate`: validate checks the rest and reads none of it.
TEST(S3Validate, SkipsValuesFromUnfetchedSecrets) {
    harness::Validation v =
        harness::validate(s3(), with({{"bucket", "x"}, {"endpoint", "x"}, {"metadata", harness::Table{{"a b", "c"}}}}),
                          {"bucket", "endpoint", "metadata", "secret_key"});
    EXPECT_EQ(v.status, BH_OK);
    for (const Problem& p : v.problems) ADD_FAILURE() << p.option << ": " << p.message;
    // A known dotted bucket with an unknown endpoint: the TLS rule cannot be decided, so it is not reported.
    EXPECT_EQ(harness::validate(s3(), with({{"bucket", "a.b"}, {"addressing", "virtual"}}), {"endpoint"}).status,
              BH_OK);
}

TEST(S3Validate, LimitsFollowS3sPartRulesAndTheSinksRanges) {
    EXPECT_FALSE(harness::within_limits(s3(), "part_size", int64_t{1} << 20));
    EXPECT_FALSE(harness::within_limits(s3(), "part_size", (int64_t{5} << 20) - 1));
    EXPECT_TRUE(harness::within_limits(s3(), "part_size", int64_t{5} << 20));
    EXPECT_TRUE(harness::within_limits(s3(), "part_size", int64_t{5} << 30));
    EXPECT_FALSE(harness::within_limits(s3(), "part_size", (int64_t{5} << 30) + 1));
    EXPECT_FALSE(harness::within_limits(s3(), "concurrency", 0));
    EXPECT_TRUE(harness::within_limits(s3(), "concurrency", 64));
    EXPECT_FALSE(harness::within_limits(s3(), "concurrency", 65));
    EXPECT_FALSE(harness::within_limits(s3(), "list_page_size", 0));
    EXPECT_FALSE(harness::within_limits(s3(), "list_page_size", 1001));
    EXPECT_FALSE(harness::within_limits(s3(), "max_retries", -1));
    EXPECT_FALSE(harness::within_limits(s3(), "max_retries", 101));
    EXPECT_FALSE(harness::within_limits(s3(), "connect_timeout", 0));
    EXPECT_FALSE(harness::within_limits(s3(), "request_timeout", -1));
    EXPECT_TRUE(harness::within_limits(s3(), "request_timeout", 0));
    for (const char* name :
         {"region", "access_key", "secret_key", "session_token", "profile", "storage_class", "ca_file"})
        EXPECT_FALSE(harness::within_limits(s3(), name, 0)) << name;
}

// The README's options table is the option table `backhaul plugins describe --json` prints: the same names in the
// same order, with the same type, required flag, default and description (the limits column is prose).
TEST(S3Readme, OptionsTableIsWhatPluginsDescribePrints) {
    testing::CommandResult described =
        testing::run_command({BACKHAUL_BINARY, "plugins", "describe", "sink-ncloud-s3", "--json"});
    ASSERT_EQ(described.exit_code, 0) << described.err;
    const nlohmann::json options = nlohmann::json::parse(described.out).at("options");

    std::ifstream readme(BACKHAUL_SOURCE_DIR "/plugins/sink-ncloud-s3/README.md");
    std::vector<std::vector<std::string>> rows;  // cells of each table row after the "## Options" heading
    bool in_options = false;
    for (std::string line; std::getline(readme, line);) {
        if (line.rfind("## ", 0) == 0) in_options = line == "## Options";
        if (!in_options || line.rfind("| `", 0) != 0) continue;
        std::vector<std::string> cells;
        std::stringstream cells_text(line.substr(1));
        for (std::string cell; std::getline(cells_text, cell, '|');) {
            while (!cell.empty() && cell.front() == ' ') cell.erase(0, 1);
            while (!cell.empty() && cell.back() == ' ') cell.pop_back();
            cells.push_back(cell);
        }
        rows.push_back(cells);
    }
    ASSERT_EQ(rows.size(), options.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        const nlohmann::json& option = options[i];
        const std::vector<std::string>& row = rows[i];
        const std::string name = option.at("name");
        SCOPED_TRACE(name);
        ASSERT_EQ(row.size(), 6u);
        EXPECT_EQ(row[0], "`" + name + "`");
        std::string type = option.at("type");
        if (type == "enum") {
            type += ":";
            for (const auto& value : option.at("values"))
                type += std::string(type.back() == ':' ? " " : ", ") + "`" + value.get<std::string>() + "`";
        }
        if (option.at("secret").get<bool>()) type += " (secret)";
        EXPECT_EQ(row[1], type);
        EXPECT_EQ(row[2], option.at("required").get<bool>() ? "yes" : "no");
        EXPECT_EQ(row[3], option.at("default").is_null() ? "" : "`" + option.at("default").get<std::string>() + "`");
        EXPECT_EQ(row[5], option.at("doc").get<std::string>());
    }
}

}  // namespace
}  // namespace backhaul
