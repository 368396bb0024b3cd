// Every value SlackNotifier's create refuses (its limits and validate), `backhaul validate` refuses too, at the
// value's position.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(SlackCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "notify-slack",
         .base = "webhook_url = \"https://hooks.slack.com/services/T0/B0/X\"",
         .cases = {
             {"webhook_url", "\"ftp://hooks.slack.com/services/T0/B0/X\"", "", "must be an http:// or https:// URL"},
             {"webhook_url", "\"hooks.slack.com/services/T0/B0/X\""},
             {"webhook_url", "\"https://hooks slack com/services\"", "", "must name a valid host"},
             {"webhook_url", "\"http://hooks.slack.com/services/T0/B0/X\"", "",
              "plain http to a remote host is refused"},
             {"timeout", "\"0s\""},
             {"retries", "-1"},
             {"retries", "101"},
         }});
}

}  // namespace
