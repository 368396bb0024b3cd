// Every value WebhookNotifier's create refuses (its limits and validate), `backhaul validate` refuses too, at the
// value's position.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(WebhookCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "notify-webhook",
         .base = "url = \"https://alerts.example.com/hook\"",
         .cases = {
             {"url", "\"hooks.example.com/x\"", "", "must be an http:// or https:// URL"},
             {"url", "\"ftp://hooks.example.com/x\""},
             {"url", "\"https://hooks.exa mple.com/x\"", "", "must name a valid host"},
             {"url", "\"http://alerts.example.com:8080/hook?token=t\"", "", "plain http to a remote host is refused"},
             {"headers", "{ \"X Team\" = \"ops\" }", "", "is not a header name"},
             {"headers", "{ X-Token = \"a\\r\\nX-Evil: 1\" }", "", "contains a line break"},
             {"timeout", "\"0s\""},
             {"retries", "-1"},
             {"retries", "101"},
         }});
}

}  // namespace
