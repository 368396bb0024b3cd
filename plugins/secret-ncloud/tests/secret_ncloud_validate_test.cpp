// secret-ncloud's static checks through its C ABI: the validate entry `backhaul validate` calls (formats, the
// plain-http rule, values from unfetched secrets left alone) and the limits the host enforces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plugin_harness.hpp"

namespace backhaul {
namespace {

using Problem = harness::Validation::Problem;

harness::OptionList with(harness::OptionList extra) {
    return harness::overridden({{"access_key", "AK"}, {"secret_key", "SK"}, {"secret_id", "db-1"}}, extra);
}

TEST(SecretNcloudValidate, AcceptsTheDefaultsAndLoopbackHttp) {
    harness::Plugin plugin("secret-ncloud");
    for (const char* endpoint :
         {"https://secretmanager.apigw.ntruss.com", "https://secretmanager.apigw.gov-ntruss.com/",
          "http://127.0.0.1:8080", "http://localhost:9/base"}) {
        harness::Validation v = harness::validate(plugin, with({{"endpoint", endpoint}}));
        EXPECT_EQ(v.status, BH_OK) << endpoint;
        EXPECT_TRUE(v.problems.empty()) << endpoint << ": " << v.problems.front().message;
    }
    EXPECT_EQ(harness::validate(plugin, with({})).status, BH_OK);
}

TEST(SecretNcloudValidate, ReportsEveryProblemAtOnce) {
    harness::Plugin plugin("secret-ncloud");
    harness::Validation v =
        harness::validate(plugin, with({{"endpoint", "http://secretmanager.example.com"}, {"secret_id", "a/b"}}));
    EXPECT_EQ(v.status, BH_INVALID_CONFIG);
    EXPECT_EQ(v.problems,
              (std::vector<Problem>{
                  {"endpoint", "plain http to a remote host is refused; use https, or set insecure_http = true"},
                  {"secret_id", "is not a Secret Manager secret id (letters, digits, '-', '_', '.')"}}));
    EXPECT_EQ(
        harness::validate(plugin, with({{"endpoint", "http://secretmanager.example.com"}, {"insecure_http", true}}))
            .status,
        BH_OK);
}

TEST(SecretNcloudValidate, RefusesEndpointsThatAreNotHttpUrls) {
    harness::Plugin plugin("secret-ncloud");
    for (const char* endpoint : {"ftp://x", "secretmanager.apigw.ntruss.com", "https://user@x.com", "https://x.com:0",
                                 "https://x..com", "https://x.com?q=1"}) {
        harness::Validation v = harness::validate(plugin, with({{"endpoint", endpoint}}));
        EXPECT_EQ(v.status, BH_INVALID_CONFIG) << endpoint;
        ASSERT_EQ(v.problems.size(), 1u) << endpoint;
        EXPECT_EQ(v.problems[0].option, "endpoint");
    }
}

// `secret_id = "${secret:other.id}"` cannot be known before the run: validate must not read it.
TEST(SecretNcloudValidate, SkipsValuesFromUnfetchedSecrets) {
    harness::Plugin plugin("secret-ncloud");
    harness::Validation v =
        harness::validate(plugin, with({{"secret_id", "a/b"}, {"endpoint", "ftp://x"}}), {"secret_id", "endpoint"});
    EXPECT_EQ(v.status, BH_OK);
    EXPECT_TRUE(v.problems.empty());
}

TEST(SecretNcloudValidate, LimitsRefuseEmptyCredentialsAndOutOfRangeNumbers) {
    harness::Plugin plugin("secret-ncloud");
    for (const char* name : {"access_key", "secret_key", "secret_id", "ca_file"}) {
        EXPECT_FALSE(harness::within_limits(plugin, name, 0)) << name;
        EXPECT_TRUE(harness::within_limits(plugin, name, 1)) << name;
    }
    EXPECT_FALSE(harness::within_limits(plugin, "max_retries", -1));
    EXPECT_TRUE(harness::within_limits(plugin, "max_retries", 10));
    EXPECT_FALSE(harness::within_limits(plugin, "max_retries", 11));
    EXPECT_FALSE(harness::within_limits(plugin, "timeout", 0));
    EXPECT_TRUE(harness::within_limits(plugin, "timeout", 1));
}

}  // namespace
}  // namespace backhaul
