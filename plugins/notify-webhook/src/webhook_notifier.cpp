// notify-webhook: POSTs each run event as a JSON object to a URL (any HTTP endpoint: Alertmanager-style receivers,
// ticket systems, a chat bridge), through the project's HTTP client and retry policy.
#include <algorithm>
#include <backhaul/sdk.hpp>
#include <backhaul/support/http/json_post.hpp>
#include <cctype>
#include <cstddef>
#include <nlohmann/json.hpp>

namespace backhaul {
namespace {

const bh_option_spec kOptions[] = {
    {"url", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr,
     "https:// URL the event is POSTed to (http:// only to loopback, or with insecure_http)."},
    {"headers", BH_OPT_TABLE, BH_OPT_SECRET, "{}", nullptr,
     "Extra request headers, e.g. { Authorization = \"Bearer ${secret:hook.token}\" }. Redacted in logs."},
    {"timeout", BH_OPT_DURATION, 0, "\"10s\"", nullptr, "Limit for each attempt (connect, send, answer)."},
    {"retries", BH_OPT_INT, 0, "3", nullptr,
     "Retries after a failed attempt (connection errors, timeouts, 5xx, 408, 429), with backoff."},
    {"insecure_http", BH_OPT_BOOL, 0, "false", nullptr,
     "Allow a plain http:// URL that is not on loopback (headers and the event travel in clear)."},
};

constexpr bh_option_limits kLimits[] = {
    {"timeout", BH_LIMIT_MIN, 1, 0},
    {"retries", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, 100},
};

std::string without_query(const std::string& url) { return url.substr(0, url.find('?')); }

// RFC 9110 token characters: what a header name may be made of.
bool header_token(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) ||
               std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    });
}

class WebhookNotifier final : public Notifier {
  public:
    WebhookNotifier(Host host, const Options& options)
        : host_(host), url_(options.string("url")), headers_(options.table("headers")) {
        client_options_.request_timeout = options.duration("timeout");
        client_options_.connect_timeout = std::min(client_options_.connect_timeout, options.duration("timeout"));
        policy_.max_retries = static_cast<int>(options.integer("retries"));
    }

    // A query string may carry a token, and a header value a secret: neither is ever quoted.
    static void validate(const Options& options, Problems& problems) {
        if (options.known("url"))
            if (auto problem =
                    http::http_url_problem(without_query(options.string("url")), options.boolean("insecure_http")))
                problems.add("url", *problem);
        if (options.known("headers"))
            for (const auto& [name, value] : options.table("headers")) {
                if (!header_token(name))
                    problems.add("headers", "'" + name + "' is not a header name (letters, digits, '-' and the like)");
                else if (value.find_first_of("\r\n") != std::string::npos)
                    problems.add("headers", "the value of '" + name + "' contains a line break");
            }
    }

    void notify(const bh_run_event& event) override {
        nlohmann::ordered_json body = {
            {"pipeline", event.pipeline ? event.pipeline : ""},
            {"outcome", event.outcome ? event.outcome : ""},
            {"key", event.key ? event.key : ""},
            {"error", event.error ? event.error : ""},
            {"started_unix_ms", event.started_unix_ms},
            {"duration_ms", event.duration_ms},
            {"raw_bytes", event.raw_bytes},
            {"stored_bytes", event.stored_bytes},
        };
        // ABI 1.1 fields, when the host sent them.
        if (event.struct_size >= offsetof(bh_run_event, untouched_objects) + sizeof event.untouched_objects) {
            body["backup_complete"] = event.backup_complete != 0;
            body["data_committed"] = event.data_committed != 0;
            body["shrunken"] = event.shrunken != 0;
            body["shrink_baseline_raw_bytes"] = event.shrink_baseline_raw_bytes;
            body["untouched_objects"] = event.untouched_objects;
        }
        // ABI 1.3: which copies exist (several sinks, sets).
        if (event.struct_size >= offsetof(bh_run_event, failed_sinks) + sizeof event.failed_sinks) {
            body["stream_count"] = event.stream_count;
            body["complete_sinks"] = names(event.complete_sinks);
            body["failed_sinks"] = names(event.failed_sinks);
        }
        http::ClientOptions options = client_options_;
        options.cancelled = [this] { return host_.cancelled(); };
        http::Client client(options);
        http::PostResult result = http::post_json(
            client, url_, headers_, body.dump(), policy_, [this] { return host_.cancelled(); },
            [this](const std::string& line) { host_.warn("webhook: " + line); });
        if (!result.ok) throw Error(Status::fatal, "webhook " + shown_url() + " failed: " + result.error);
    }

  private:
    // "a,b" -> ["a", "b"]; NULL or "" -> [].
    static nlohmann::json names(const char* list) {
        nlohmann::json out = nlohmann::json::array();
        std::string_view rest = list ? list : "";
        while (!rest.empty()) {
            size_t comma = rest.find(',');
            out.push_back(std::string(rest.substr(0, comma)));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
        return out;
    }

    // Scheme, host and path only: a query string often carries a token.
    std::string shown_url() const {
        auto url = http::parse_url(without_query(url_));
        return url->scheme + "://" + http::host_header(*url) + url->path;
    }

    Host host_;
    std::string url_;
    http::Headers headers_;
    http::ClientOptions client_options_;
    http::RetryPolicy policy_;
};

const PluginInfo kInfo{
    .name = "notify-webhook",
    .version = "0.1.0",
    .description = "POSTs each run's outcome as JSON to a URL.",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::WebhookNotifier, backhaul::kInfo)
