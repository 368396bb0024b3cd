// The support library's HTTP client against a local receiver (tests/support/http_receiver.py) whose answers never
// end: what it collects in memory is bounded per request, what a consumer streams is not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <backhaul/support/http/http_client.hpp>
#include <backhaul/support/http/retry_policy.hpp>

#include "http_receiver.hpp"

namespace backhaul::http {
namespace {

Request post(const std::string& url) {
    Request request;
    request.method = "POST";
    request.url = url;
    return request;
}

TEST(HttpClient, AnEndlessBodyFailsAtTheDefaultLimitInsteadOfFillingMemory) {
    testing::HttpReceiver receiver({200}, testing::HttpReceiver::Body::endless);
    Client client;
    Result result = client.perform(post(receiver.url()));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error->kind, TransportError::Kind::too_large);
    EXPECT_EQ(result.error->message, "the response body exceeds the limit of 1048576 bytes");
    EXPECT_FALSE(is_retryable(result));
}

TEST(HttpClient, TheLimitIsPerRequest) {
    testing::HttpReceiver receiver({200});  // answers "ok"
    Client client;
    Request request = post(receiver.url());
    request.max_body_bytes = 2;
    Result fits = client.perform(request);
    ASSERT_TRUE(fits.ok()) << fits.error->message;
    EXPECT_EQ(fits.response.body, "ok");
    request.max_body_bytes = 1;
    Result too_long = client.perform(request);
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.error->message, "the response body exceeds the limit of 1 bytes");
}

TEST(HttpClient, ABodyBufferGivenIsWhereTheBodyIsCollected) {
    testing::HttpReceiver receiver({200, 200});  // answers "ok"
    Client client;
    Request request = post(receiver.url());
    std::string buffer = "left over from an earlier range";
    buffer.reserve(1 << 20);
    const char* memory = buffer.data();
    request.body_buffer = &buffer;
    Result result = client.perform(request);
    ASSERT_TRUE(result.ok()) << result.error->message;
    EXPECT_EQ(result.response.body, "ok");
    EXPECT_EQ(result.response.body.data(), memory) << "the body was collected in memory of its own";
    EXPECT_TRUE(buffer.empty());

    // Given back, the same memory collects the next body.
    buffer = std::move(result.response.body);
    Result again = client.perform(request);
    ASSERT_TRUE(again.ok()) << again.error->message;
    EXPECT_EQ(again.response.body, "ok");
    EXPECT_EQ(again.response.body.data(), memory);
}

TEST(HttpClient, AStreamedBodyIsTheConsumersToBound) {
    testing::HttpReceiver receiver({200}, testing::HttpReceiver::Body::endless);
    Client client;
    Request request = post(receiver.url());
    request.max_body_bytes = 1;  // not applied to a body that is not collected
    size_t streamed = 0;
    request.on_body = [&](std::span<const uint8_t> piece) {
        streamed += piece.size();
        return streamed < 4 * kDefaultMaxBodyBytes;
    };
    Result result = client.perform(request);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error->kind, TransportError::Kind::aborted);
    EXPECT_GE(streamed, 4 * kDefaultMaxBodyBytes);
}

}  // namespace
}  // namespace backhaul::http
