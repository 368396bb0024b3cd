// THE retry policy of Backhaul's plugins: exponential backoff with full jitter. Callers decide per attempt whether
// it is worth another try (is_retryable() is the rule for plain HTTP: connection errors, timeouts, 5xx except 501,
// 408 and 429); the policy decides how long to wait and when to give up, and stops waiting at once on cancellation.
#pragma once

#include <backhaul/support/http/http_client.hpp>
#include <chrono>
#include <functional>

namespace backhaul::http {

enum class Attempt { finished, retry };
enum class RetryOutcome { finished, exhausted, cancelled };

struct RetryPolicy {
    int max_retries = 5;  // retries after the first attempt
    std::chrono::milliseconds initial_delay{200};
    std::chrono::milliseconds max_delay{20'000};

    // A random delay in [0, min(max_delay, initial_delay * 2^(retry-1))] before retry number `retry` (1-based).
    std::chrono::milliseconds delay_before(int retry) const;

    // Calls attempt(0), then attempt(1), ... while it returns Attempt::retry and retries remain, sleeping
    // delay_before() in between (in slices of at most 100 ms, checking `cancelled`). `on_retry(retry, delay)` is
    // told before each wait. Returns finished when an attempt said so, exhausted when the last allowed attempt still
    // asked for a retry, cancelled when `cancelled` became true while waiting.
    RetryOutcome run(const std::function<Attempt(int attempt)>& attempt, const std::function<bool()>& cancelled,
                     const std::function<void(int retry, std::chrono::milliseconds delay)>& on_retry = {}) const;
};

// True if a request that produced `result` may succeed when sent again.
bool is_retryable(const Result& result);
bool is_retryable_status(long status);

}  // namespace backhaul::http
