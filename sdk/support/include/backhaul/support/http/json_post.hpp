// One JSON POST through THE client and THE retry policy, for webhooks and notifications: a 2xx answer is success,
// what is_retryable() allows is retried with backoff, anything else is an error line naming the HTTP status (and the
// start of the answer) or the transport failure. Header-only.
#pragma once

#include <backhaul/support/http/http_client.hpp>
#include <backhaul/support/http/retry_policy.hpp>
#include <functional>
#include <string>

namespace backhaul::http {

struct PostResult {
    bool ok = false;
    long status = 0;    // the last HTTP status, 0 if none arrived
    std::string error;  // "" when ok
};

inline PostResult post_json(Client& client, const std::string& url, const Headers& headers, const std::string& body,
                            const RetryPolicy& policy, const std::function<bool()>& cancelled,
                            const std::function<void(const std::string& retry_line)>& on_retry = {}) {
    Request request;
    request.method = "POST";
    request.url = url;
    request.headers = headers;
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    PostResult outcome;
    auto describe = [](const Result& r) {
        if (r.error) return r.error->message;
        std::string answer = r.response.body.substr(0, 200);
        for (char& c : answer)
            if (c == '\n' || c == '\r') c = ' ';
        return "HTTP " + std::to_string(r.response.status) + (answer.empty() ? "" : ": " + answer);
    };
    Result last;
    RetryOutcome retried = policy.run(
        [&](int) {
            last = client.perform(request);
            if (last.ok() && last.response.status >= 200 && last.response.status < 300) return Attempt::finished;
            return is_retryable(last) ? Attempt::retry : Attempt::finished;
        },
        cancelled,
        [&](int retry, std::chrono::milliseconds delay) {
            if (on_retry)
                on_retry(describe(last) + "; retry " + std::to_string(retry) + " of " +
                         std::to_string(policy.max_retries) + " in " + std::to_string(delay.count()) + " ms");
        });
    outcome.status = last.ok() ? last.response.status : 0;
    if (retried == RetryOutcome::cancelled) {
        outcome.error = "cancelled";
    } else if (last.ok() && last.response.status >= 200 && last.response.status < 300) {
        outcome.ok = true;
    } else {
        outcome.error = describe(last);
        if (retried == RetryOutcome::exhausted)
            outcome.error += " (gave up after " + std::to_string(policy.max_retries + 1) + " attempts)";
    }
    return outcome;
}

}  // namespace backhaul::http
