#include <algorithm>
#include <backhaul/support/http/retry_policy.hpp>
#include <random>
#include <thread>

namespace backhaul::http {

std::chrono::milliseconds RetryPolicy::delay_before(int retry) const {
    // Full jitter: clients that failed together do not come back together.
    thread_local std::mt19937_64 random{std::random_device{}()};
    int64_t cap = initial_delay.count();
    for (int i = 1; i < retry && cap < max_delay.count(); ++i) cap *= 2;
    cap = std::min<int64_t>(cap, max_delay.count());
    return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(cap, 0))(random));
}

RetryOutcome RetryPolicy::run(const std::function<Attempt(int attempt)>& attempt,
                              const std::function<bool()>& cancelled,
                              const std::function<void(int retry, std::chrono::milliseconds delay)>& on_retry) const {
    for (int n = 0;; ++n) {
        if (attempt(n) == Attempt::finished) return RetryOutcome::finished;
        if (n >= max_retries) return RetryOutcome::exhausted;
        std::chrono::milliseconds delay = delay_before(n + 1);
        if (on_retry) on_retry(n + 1, delay);
        auto until = std::chrono::steady_clock::now() + delay;
        while (true) {
            if (cancelled && cancelled()) return RetryOutcome::cancelled;
            auto now = std::chrono::steady_clock::now();
            if (now >= until) break;
            std::this_thread::sleep_for(
                std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(100)));
        }
    }
}

bool is_retryable_status(long status) {
    // 501 Not Implemented will not start working; every other 5xx, 408 and 429 are the server asking to come back.
    return (status >= 500 && status != 501) || status == 408 || status == 429;
}

bool is_retryable(const Result& result) {
    if (!result.error) return is_retryable_status(result.response.status);
    switch (result.error->kind) {
        case TransportError::Kind::connect:
        case TransportError::Kind::timeout:
        case TransportError::Kind::transfer:
            return true;
        default:
            return false;
    }
}

}  // namespace backhaul::http
