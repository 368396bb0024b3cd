// notify-webhook through its C ABI against a local HTTP receiver: the JSON body and headers arrive, 5xx is retried,
// 4xx and a dead receiver are errors naming what happened.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>

#include "http_receiver.hpp"
#include "plugin_harness.hpp"

namespace backhaul {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bh_run_event failure_event() {
    bh_run_event e{};
    e.struct_size = sizeof e;
    e.pipeline = "orders";
    e.outcome = "failure";
    e.key = "orders/2025/backup.gz";
    e.error = "source (source-command): command 'pg_dump' exited with status 1";
    e.started_unix_ms = 1732468502000;
    e.duration_ms = 4200;
    e.raw_bytes = 1000;
    e.stored_bytes = 300;
    e.data_committed = 1;  // committed, but its manifest failed
    e.untouched_objects = 2;
    e.stream_count = 1;
    e.complete_sinks = "";
    e.failed_sinks = "sink";
    return e;
}

bh_status notify(harness::Instance& instance, const bh_run_event& event) {
    return instance.descriptor().notifier->notify(instance.raw(), &event);
}

TEST(NotifyWebhook, PostsTheEventAsJsonWithConfiguredHeaders) {
    testing::HttpReceiver receiver;
    harness::Plugin plugin("notify-webhook");
    harness::Instance hook(plugin, {{"url", receiver.url("/backups")},
                                    {"headers", harness::Table{{"Authorization", "Bearer t0ken"}, {"X-Team", "ops"}}}});
    ASSERT_EQ(hook.create_status(), BH_OK) << hook.last_error();
    ASSERT_EQ(notify(hook, failure_event()), BH_OK) << hook.last_error();

    auto requests = receiver.wait_for(1);
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0]["path"], "/backups");
    EXPECT_EQ(requests[0]["headers"]["content-type"], "application/json");
    EXPECT_EQ(requests[0]["headers"]["authorization"], "Bearer t0ken");
    EXPECT_EQ(requests[0]["headers"]["x-team"], "ops");
    nlohmann::json body = nlohmann::json::parse(requests[0]["body"].get<std::string>());
    EXPECT_EQ(body, nlohmann::json::parse(R"({"pipeline": "orders", "outcome": "failure",
        "key": "orders/2025/backup.gz",
        "error": "source (source-command): command 'pg_dump' exited with status 1",
        "started_unix_ms": 1732468502000, "duration_ms": 4200, "raw_bytes": 1000, "stored_bytes": 300,
        "backup_complete": false, "data_committed": true, "shrunken": false, "shrink_baseline_raw_bytes": 0,
        "untouched_objects": 2, "stream_count": 1, "complete_sinks": [], "failed_sinks": ["sink"]})"));
}

TEST(NotifyWebhook, AnAbi10EventCarriesOnlyTheAbi10Fields) {
    // A 1.0 host's event ends after stored_bytes: nothing past its struct_size is read.
    testing::HttpReceiver receiver;
    harness::Plugin plugin("notify-webhook");
    harness::Instance hook(plugin, {{"url", receiver.url("/backups")}});
    ASSERT_EQ(hook.create_status(), BH_OK) << hook.last_error();
    bh_run_event e = failure_event();
    e.struct_size = offsetof(bh_run_event, stored_bytes) + sizeof e.stored_bytes;
    ASSERT_EQ(notify(hook, e), BH_OK) << hook.last_error();
    auto requests = receiver.wait_for(1);
    ASSERT_EQ(requests.size(), 1u);
    nlohmann::json body = nlohmann::json::parse(requests[0]["body"].get<std::string>());
    EXPECT_FALSE(body.contains("data_committed"));
    EXPECT_EQ(body["stored_bytes"], 300);
}

TEST(NotifyWebhook, RetriesAServerErrorThenSucceeds) {
    testing::HttpReceiver receiver({503, 200});
    harness::Plugin plugin("notify-webhook");
    harness::Instance hook(plugin, {{"url", receiver.url()}});
    ASSERT_EQ(notify(hook, failure_event()), BH_OK) << hook.last_error();
    EXPECT_EQ(receiver.wait_for(2).size(), 2u);
}

TEST(NotifyWebhook, ClientErrorIsNotRetriedAndNamesTheStatus) {
    testing::HttpReceiver receiver({404});
    harness::Plugin plugin("notify-webhook");
    harness::Instance hook(plugin, {{"url", receiver.url("/hook?token=s3cr3t")}});
    EXPECT_EQ(notify(hook, failure_event()), BH_FATAL);
    EXPECT_EQ(hook.last_error(), "webhook " + receiver.url("/hook") + " failed: HTTP 404: receiver says no");
    EXPECT_THAT(hook.last_error(), Not(HasSubstr("s3cr3t")));
    EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST(NotifyWebhook, AnAnswerThatNeverEndsFailsAtTheBodyLimit) {
    testing::HttpReceiver receiver({200}, testing::HttpReceiver::Body::endless);
    harness::Plugin plugin("notify-webhook");
    harness::Instance hook(plugin, {{"url", receiver.url("/hook")}});
    EXPECT_EQ(notify(hook, failure_event()), BH_FATAL);
    EXPECT_EQ(hook.last_error(),
              "webhook " + receiver.url("/hook") + " failed: the response body exceeds the limit of 1048576 bytes");
    EXPECT_EQ(receiver.requests().size(), 1u);  // not retried
}

TEST(NotifyWebhook, DeadReceiverFailsAfterItsRetries) {
    harness::Plugin plugin("notify-webhook");
    harness::Instance hook(plugin, {{"url", testing::dead_url()}, {"retries", 1}, {"timeout", "2s"}});
    EXPECT_EQ(notify(hook, failure_event()), BH_FATAL);
    EXPECT_THAT(hook.last_error(), HasSubstr("webhook http://127.0.0.1:9/hook failed: "));
    EXPECT_THAT(hook.last_error(), HasSubstr("(gave up after 2 attempts)"));
}

using Problem = harness::Validation::Problem;

TEST(NotifyWebhook, RejectsAUrlThatIsNotHttp) {
    harness::Plugin plugin("notify-webhook");
    const std::string not_url = "must be an http:// or https:// URL (scheme://host[:port][/path], no user info)";
    for (const char* bad :
         {"hooks.example.com/x", "ftp://hooks.example.com/x", "https://user:pw@hooks.example.com/", "https:///x"}) {
        harness::Validation v = harness::validate(plugin, {{"url", bad}});
        EXPECT_EQ(v.status, BH_INVALID_CONFIG) << bad;
        EXPECT_EQ(v.problems, (std::vector<Problem>{{"url", not_url}})) << bad;
        // create runs the same check first, so it never sees such a URL.
        harness::Instance hook(plugin, {{"url", bad}});
        EXPECT_EQ(hook.create_status(), BH_INVALID_CONFIG) << bad;
        EXPECT_EQ(hook.last_error(), "option 'url': " + not_url) << bad;
    }
    harness::Validation host = harness::validate(plugin, {{"url", "https://hooks.exa mple.com/x"}});
    EXPECT_EQ(host.problems,
              (std::vector<Problem>{{"url", "must name a valid host (letters, digits, '-', '.', or an IP address)"}}));
}

TEST(NotifyWebhook, RefusesPlainHttpToARemoteHostUnlessInsecureHttp) {
    harness::Plugin plugin("notify-webhook");
    harness::Validation remote =
        harness::validate(plugin, {{"url", "http://alerts.example.com:8080/hook?token=s3cr3t"}});
    EXPECT_EQ(remote.problems,
              (std::vector<Problem>{
                  {"url", "plain http to a remote host is refused; use https, or set insecure_http = true"}}));
    harness::Instance refused(plugin, {{"url", "http://alerts.example.com:8080/hook?token=s3cr3t"}});
    EXPECT_EQ(refused.create_status(), BH_INVALID_CONFIG);
    EXPECT_THAT(refused.last_error(), Not(HasSubstr("s3cr3t")));

    harness::Instance allowed(plugin, {{"url", "http://alerts.example.com:8080/hook"}, {"insecure_http", true}});
    EXPECT_EQ(allowed.create_status(), BH_OK) << allowed.last_error();
    for (const char* fine : {"https://alerts.example.com/hook", "http://localhost:8080/hook", "http://[::1]:8080/h",
                             "http://127.0.0.2/hook", "https://alerts.example.com/hook?token=x"}) {
        EXPECT_EQ(harness::validate(plugin, {{"url", fine}}).status, BH_OK) << fine;
        harness::Instance hook(plugin, {{"url", fine}});
        EXPECT_EQ(hook.create_status(), BH_OK) << fine << ": " << hook.last_error();
    }
}

TEST(NotifyWebhook, ValidateRefusesHeadersThatCannotBeSent) {
    harness::Plugin plugin("notify-webhook");
    harness::Validation v = harness::validate(
        plugin, {{"url", "https://alerts.example.com/hook"},
                 {"headers", harness::Table{{"X Team", "ops"}, {"X-Token", "s3cr3t\r\nX-Evil: 1"}, {"X-Ok", "fine"}}}});
    EXPECT_EQ(v.status, BH_INVALID_CONFIG);
    EXPECT_EQ(v.problems,
              (std::vector<Problem>{{"headers", "'X Team' is not a header name (letters, digits, '-' and the like)"},
                                    {"headers", "the value of 'X-Token' contains a line break"}}));
    for (const Problem& p : v.problems) EXPECT_THAT(p.message, Not(HasSubstr("s3cr3t")));
}

// Values built from a ${secret:...} are unknown to `backhaul validate`: validate checks the rest and reads none of
// them.
TEST(NotifyWebhook, ValidateSkipsValuesFromUnfetchedSecrets) {
    harness::Plugin plugin("notify-webhook");
    harness::Validation v =
        harness::validate(plugin, {{"url", "x"}, {"headers", harness::Table{{"A B", "c"}}}}, {"url", "headers"});
    EXPECT_EQ(v.status, BH_OK);
    EXPECT_TRUE(v.problems.empty());
}

TEST(NotifyWebhook, LimitsRefuseNegativeRetriesAndAZeroTimeout) {
    harness::Plugin plugin("notify-webhook");
    EXPECT_FALSE(harness::within_limits(plugin, "retries", -1));
    EXPECT_TRUE(harness::within_limits(plugin, "retries", 0));
    EXPECT_TRUE(harness::within_limits(plugin, "retries", 100));
    EXPECT_FALSE(harness::within_limits(plugin, "retries", 101));
    EXPECT_FALSE(harness::within_limits(plugin, "timeout", 0));
    EXPECT_TRUE(harness::within_limits(plugin, "timeout", 1));
}

}  // namespace
}  // namespace backhaul
