// notify-slack through its C ABI against a local HTTP receiver standing in for hooks.slack.com.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http_receiver.hpp"
#include "plugin_harness.hpp"

namespace backhaul {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bh_run_event event(const char* outcome, const char* key, const char* error) {
    bh_run_event e{};
    e.struct_size = sizeof e;
    e.pipeline = "orders";
    e.outcome = outcome;
    e.key = key;
    e.error = error;
    e.started_unix_ms = 1732468502000;
    e.duration_ms = 4200;
    e.raw_bytes = 4 << 20;
    e.stored_bytes = 3 << 20;
    return e;
}

std::string posted_text(const testing::HttpReceiver& receiver) {
    auto requests = receiver.wait_for(1);
    if (requests.empty()) return "<nothing posted>";
    return nlohmann::json::parse(requests.back()["body"].get<std::string>())["text"];
}

TEST(NotifySlack, SuccessNamesPipelineDurationSizeAndKey) {
    testing::HttpReceiver receiver;
    harness::Plugin plugin("notify-slack");
    harness::Instance slack(plugin, {{"webhook_url", receiver.url("/services/T0/B0/xyz")}});
    ASSERT_EQ(slack.create_status(), BH_OK) << slack.last_error();
    bh_run_event e = event("success", "orders/2025/orders.sql.gz", "");
    ASSERT_EQ(slack.descriptor().notifier->notify(slack.raw(), &e), BH_OK) << slack.last_error();
    EXPECT_EQ(posted_text(receiver),
              ":white_check_mark: backup *orders* succeeded in 4.2s, 3.0 MiB stored, key `orders/2025/orders.sql.gz`");
    EXPECT_EQ(receiver.requests()[0]["path"], "/services/T0/B0/xyz");
}

TEST(NotifySlack, FailureQuotesTheErrorLineEscaped) {
    testing::HttpReceiver receiver;
    harness::Plugin plugin("notify-slack");
    harness::Instance slack(plugin, {{"webhook_url", receiver.url()}, {"channel", "#backups"}});
    bh_run_event e = event("failure", "", "sink: cannot write <disk> & full");
    ASSERT_EQ(slack.descriptor().notifier->notify(slack.raw(), &e), BH_OK) << slack.last_error();
    EXPECT_EQ(posted_text(receiver),
              ":x: backup *orders* FAILED in 4.2s, 3.0 MiB stored\n>sink: cannot write &lt;disk&gt; &amp; full");
    nlohmann::json body = nlohmann::json::parse(receiver.requests()[0]["body"].get<std::string>());
    EXPECT_EQ(body["channel"], "#backups");
}

TEST(NotifySlack, AFailedCopyNamesItsSinkAndWhereACopyExists) {
    testing::HttpReceiver receiver;
    harness::Plugin plugin("notify-slack");
    harness::Instance slack(plugin, {{"webhook_url", receiver.url()}});
    bh_run_event e = event("failure", "orders/2025/orders.sql.gz", "sink 'offsite': access denied");
    e.failed_sinks = "offsite";
    e.complete_sinks = "primary";
    ASSERT_EQ(slack.descriptor().notifier->notify(slack.raw(), &e), BH_OK) << slack.last_error();
    EXPECT_THAT(posted_text(receiver), HasSubstr("\n:warning: no copy on sink(s) *offsite*; complete on *primary*"));
    // The only copy failing is what FAILED says already: no second line about it.
    testing::HttpReceiver second;
    harness::Instance only(plugin, {{"webhook_url", second.url()}});
    e.complete_sinks = "";
    e.failed_sinks = "sink";
    ASSERT_EQ(only.descriptor().notifier->notify(only.raw(), &e), BH_OK) << only.last_error();
    EXPECT_THAT(posted_text(second), Not(HasSubstr("no copy")));
}

TEST(NotifySlack, ErrorNeverContainsTheWebhookUrl) {
    testing::HttpReceiver receiver({403});
    harness::Plugin plugin("notify-slack");
    harness::Instance slack(plugin, {{"webhook_url", receiver.url("/services/SECRETPATH")}});
    bh_run_event e = event("failure", "", "boom");
    EXPECT_EQ(slack.descriptor().notifier->notify(slack.raw(), &e), BH_FATAL);
    EXPECT_EQ(slack.last_error(), "slack webhook failed: HTTP 403: receiver says no");
    EXPECT_THAT(slack.last_error(), Not(HasSubstr("SECRETPATH")));
}

using Problem = harness::Validation::Problem;

TEST(NotifySlack, RefusesPlainHttpToARemoteHostUnlessInsecureHttp) {
    harness::Plugin plugin("notify-slack");
    const std::string plain = "plain http to a remote host is refused; use https, or set insecure_http = true";
    harness::Validation v =
        harness::validate(plugin, {{"webhook_url", "http://hooks.example.com/services/SECRETPATH"}});
    EXPECT_EQ(v.status, BH_INVALID_CONFIG);
    EXPECT_EQ(v.problems, (std::vector<Problem>{{"webhook_url", plain}}));
    harness::Instance remote(plugin, {{"webhook_url", "http://hooks.example.com/services/SECRETPATH"}});
    EXPECT_EQ(remote.create_status(), BH_INVALID_CONFIG);
    // The URL is the credential: the error names the option only.
    EXPECT_EQ(remote.last_error(), "option 'webhook_url': " + plain);
    harness::Instance allowed(
        plugin, {{"webhook_url", "http://hooks.example.com/services/SECRETPATH"}, {"insecure_http", true}});
    EXPECT_EQ(allowed.create_status(), BH_OK) << allowed.last_error();
    harness::Instance tls(plugin, {{"webhook_url", "https://hooks.example.com/services/SECRETPATH"}});
    EXPECT_EQ(tls.create_status(), BH_OK) << tls.last_error();
}

TEST(NotifySlack, RejectsAUrlThatIsNotHttpWithoutQuotingIt) {
    harness::Plugin plugin("notify-slack");
    for (const char* bad : {"ftp://hooks.example.com/services/SECRETPATH", "hooks.example.com/services/SECRETPATH",
                            "https://hooks.example.com:99999/services/SECRETPATH"}) {
        harness::Validation v = harness::validate(plugin, {{"webhook_url", bad}});
        EXPECT_EQ(v.status, BH_INVALID_CONFIG) << bad;
        ASSERT_EQ(v.problems.size(), 1u) << bad;
        EXPECT_EQ(v.problems[0].option, "webhook_url");
        EXPECT_THAT(v.problems[0].message, HasSubstr("must be an http:// or https:// URL"));
        harness::Instance slack(plugin, {{"webhook_url", bad}});
        EXPECT_EQ(slack.create_status(), BH_INVALID_CONFIG) << bad;
        EXPECT_THAT(slack.last_error(), Not(HasSubstr("SECRETPATH")));
    }
}

// The webhook URL is usually a ${secret:...}: `backhaul validate` cannot see it and checks it at the run instead.
TEST(NotifySlack, ValidateSkipsAWebhookUrlFromAnUnfetchedSecret) {
    harness::Plugin plugin("notify-slack");
    harness::Validation v = harness::validate(plugin, {{"webhook_url", "x"}}, {"webhook_url"});
    EXPECT_EQ(v.status, BH_OK);
    EXPECT_TRUE(v.problems.empty());
}

TEST(NotifySlack, LimitsRefuseNegativeRetriesAndAZeroTimeout) {
    harness::Plugin plugin("notify-slack");
    EXPECT_FALSE(harness::within_limits(plugin, "retries", -1));
    EXPECT_TRUE(harness::within_limits(plugin, "retries", 3));
    EXPECT_FALSE(harness::within_limits(plugin, "retries", 101));
    EXPECT_FALSE(harness::within_limits(plugin, "timeout", 0));
    EXPECT_TRUE(harness::within_limits(plugin, "timeout", 10'000));
}

TEST(NotifySlack, WebhookUrlIsASecretOption) {
    harness::Plugin plugin("notify-slack");
    const bh_plugin_descriptor& d = plugin.descriptor();
    ASSERT_GE(d.option_count, 1u);
    EXPECT_STREQ(d.options[0].name, "webhook_url");
    EXPECT_TRUE(d.options[0].flags & BH_OPT_SECRET);
}

}  // namespace
}  // namespace backhaul
