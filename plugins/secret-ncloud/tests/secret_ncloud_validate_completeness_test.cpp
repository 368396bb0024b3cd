// Every value NcloudSecret's create refuses (its limits and validate), `backhaul validate` refuses too, at the value's
// position.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(SecretNcloudCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "secret-ncloud",
         .base = "access_key = \"AK\"\nsecret_key = \"SK\"\nsecret_id = \"db\"",
         .cases = {
             {"endpoint", "\"ftp://x\"", "", "must be an http:// or https:// URL"},
             {"endpoint", "\"secretmanager.apigw.ntruss.com\""},
             {"endpoint", "\"https://x..com\"", "", "must name a valid host"},
             {"endpoint", "\"http://secretmanager.example.com\"", "", "plain http to a remote host is refused"},
             {"secret_id", "\"a/b\"", "", "is not a Secret Manager secret id"},
             {"secret_id", "\"\""},
             {"access_key", "\"\""},
             {"secret_key", "\"\""},
             {"timeout", "\"0s\""},
             {"max_retries", "-1"},
             {"max_retries", "11"},
             {"ca_file", "\"\""},
         }});
}

}  // namespace
