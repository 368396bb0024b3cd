// notify-slack: posts each run's outcome to a Slack incoming webhook (or anything that speaks its payload, e.g.
// Mattermost): one line of text with the pipeline, outcome, duration and size, and the key or the error line.
#include <backhaul/sdk.hpp>
#include <backhaul/support/http/json_post.hpp>
#include <backhaul/support/text/human_bytes.hpp>
#include <cstddef>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace backhaul {
namespace {

const bh_option_spec kOptions[] = {
    {"webhook_url", BH_OPT_STRING, BH_OPT_REQUIRED | BH_OPT_SECRET, nullptr, nullptr,
     "The incoming webhook URL (https://hooks.slack.com/services/...). It is a credential: redacted in logs."},
    {"channel", BH_OPT_STRING, 0, nullptr, nullptr, "Channel override, for webhooks that allow one."},
    {"username", BH_OPT_STRING, 0, nullptr, nullptr, "Sender name override, for webhooks that allow one."},
    {"timeout", BH_OPT_DURATION, 0, "\"10s\"", nullptr, "Limit for each attempt (connect, send, answer)."},
    {"retries", BH_OPT_INT, 0, "3", nullptr,
     "Retries after a failed attempt (connection errors, timeouts, 5xx, 408, 429), with backoff."},
    {"insecure_http", BH_OPT_BOOL, 0, "false", nullptr,
     "Allow a plain http:// webhook_url that is not on loopback (the URL, a credential, travels in clear)."},
};

constexpr bh_option_limits kLimits[] = {
    {"timeout", BH_LIMIT_MIN, 1, 0},
    {"retries", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, 100},
};

std::string seconds(int64_t ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    return buf;
}

// Slack's mrkdwn treats &, < and > specially.
std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '&')
            out += "&amp;";
        else if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else
            out += c;
    }
    return out;
}

// "✅ backup *orders* succeeded in 4.2s, 1.2 GiB stored, key `…`" or the failure with the error line quoted.
std::string slack_text(const bh_run_event& e) {
    const std::string pipeline = escaped(e.pipeline ? e.pipeline : "");
    // `backhaul check --notify`: no backup ran, and the text must not read like one that failed.
    if (e.outcome && std::string_view(e.outcome) == "check")
        return ":test_tube: test from `backhaul check` for pipeline *" + pipeline +
               "*: its notifications reach this channel (no backup ran)";
    const bool success = e.outcome && std::string_view(e.outcome) == "success";
    std::string text =
        success ? ":white_check_mark: backup *" + pipeline + "* succeeded" : ":x: backup *" + pipeline + "* FAILED";
    text += " in " + seconds(e.duration_ms) + ", " + human_bytes(e.stored_bytes) + " stored";
    if (e.key && *e.key) text += ", key `" + escaped(e.key) + "`";
    if (!success) text += "\n>" + escaped(e.error && *e.error ? e.error : "unknown error");
    // ABI 1.1 fields, when the host sent them.
    if (e.struct_size >= offsetof(bh_run_event, untouched_objects) + sizeof e.untouched_objects && e.shrunken)
        text += "\n:warning: the backup is *shrunken*: " + human_bytes(e.raw_bytes) + " raw against " +
                human_bytes(e.shrink_baseline_raw_bytes) + " of the last good backup; kept, older backups stay";
    // ABI 1.3: when some copies exist and others failed, the channel says which destinations lack this backup (a
    // run whose only copy failed says FAILED already).
    if (e.struct_size >= offsetof(bh_run_event, failed_sinks) + sizeof e.failed_sinks && e.failed_sinks &&
        *e.failed_sinks && e.complete_sinks && *e.complete_sinks)
        text += "\n:warning: no copy on sink(s) *" + escaped(e.failed_sinks) + "*; complete on *" +
                escaped(e.complete_sinks) + "*";
    return text;
}

class SlackNotifier final : public Notifier {
  public:
    SlackNotifier(Host host, const Options& options)
        : host_(host),
          url_(options.string("webhook_url")),
          channel_(options.optional_string("channel")),
          username_(options.optional_string("username")) {
        client_options_.request_timeout = options.duration("timeout");
        client_options_.connect_timeout = std::min(client_options_.connect_timeout, options.duration("timeout"));
        policy_.max_retries = static_cast<int>(options.integer("retries"));
    }

    // The URL is the credential: the problem names the option only. It is usually a ${secret:...}, then checked
    // only when the run has fetched it.
    static void validate(const Options& options, Problems& problems) {
        if (!options.known("webhook_url")) return;
        const std::string url = options.string("webhook_url");
        if (auto problem = http::http_url_problem(url.substr(0, url.find('?')), options.boolean("insecure_http")))
            problems.add("webhook_url", *problem);
    }

    void notify(const bh_run_event& event) override {
        nlohmann::ordered_json body = {{"text", slack_text(event)}};
        if (channel_) body["channel"] = *channel_;
        if (username_) body["username"] = *username_;
        http::ClientOptions options = client_options_;
        options.cancelled = [this] { return host_.cancelled(); };
        http::Client client(options);
        http::PostResult result = http::post_json(
            client, url_, {}, body.dump(), policy_, [this] { return host_.cancelled(); },
            [this](const std::string& line) { host_.warn("slack: " + line); });
        // The URL is the credential: never put it in the error.
        if (!result.ok) throw Error(Status::fatal, "slack webhook failed: " + result.error);
    }

  private:
    Host host_;
    std::string url_;
    std::optional<std::string> channel_, username_;
    http::ClientOptions client_options_;
    http::RetryPolicy policy_;
};

const PluginInfo kInfo{
    .name = "notify-slack",
    .version = "0.1.0",
    .description = "Posts each run's outcome to a Slack incoming webhook.",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::SlackNotifier, backhaul::kInfo)
