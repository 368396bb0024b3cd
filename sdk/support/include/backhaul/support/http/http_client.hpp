// THE HTTP client of Backhaul's plugins: one libcurl connection cache per Client (keep-alive reuse across requests),
// TLS verification always on, the standard proxy variables (https_proxy, http_proxy, no_proxy, ALL_PROXY) honoured
// as libcurl does, cancellation polled every 100 ms. A Client is used by one thread at a time; give each worker thread
// its own. Retrying is not done here: see retry_policy.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backhaul::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr size_t kDefaultMaxBodyBytes = size_t{1} << 20;

struct Request {
    std::string method = "GET";     // HEAD sends no body and reads none
    std::string url;                // scheme://host[:port]/path?query, already encoded
    Headers headers;                // sent as given; libcurl adds Host, Content-Length and User-Agent
    std::span<const uint8_t> body;  // (borrowed until perform returns); PUT and POST always send Content-Length
    // If set, the response body is passed here piece by piece instead of collected in Response::body; return false
    // to stop the transfer (perform then fails with TransportError::Kind::aborted).
    std::function<bool(std::span<const uint8_t>)> on_body;
    // The most Response::body may collect: a longer body fails the request (TransportError::Kind::too_large) instead
    // of filling memory because a server (broken, hostile, or not the one we meant) never stops sending. API, JSON
    // and XML answers fit in the default; a data read (S3 GetObject) sets the size it asked for. Not applied with
    // on_body, whose consumer decides what to keep.
    size_t max_body_bytes = kDefaultMaxBodyBytes;
    // If set, Response::body is collected in this string's memory (its content is dropped, its capacity kept) and the
    // string is left empty: a reader fetching many ranges of one size gives each body back when done with it and so
    // allocates its buffers once, not once per range. Freed and reallocated on other threads, buffers of megabytes
    // stay resident in glibc's per-thread arenas, which made a restore's memory grow past what it held.
    std::string* body_buffer = nullptr;
};

struct Response {
    long status = 0;
    Headers headers;   // names in lower case, in the order received
    std::string body;  // empty when Request::on_body was set

    // The value of the first header called `name` (case-insensitive).
    std::optional<std::string> header(std::string_view name) const;
};

struct TransportError {
    enum class Kind {
        connect,    // could not resolve or connect (refused, unreachable)
        timeout,    // connect_timeout, request_timeout or stall_timeout elapsed
        transfer,   // the connection broke mid-request (reset, closed early, short body)
        tls,        // certificate or handshake failure: not retryable
        cancelled,  // ClientOptions::cancelled returned true
        aborted,    // Request::on_body returned false
        too_large,  // the body exceeded Request::max_body_bytes: not retryable
        other,      // anything else libcurl reports (bad URL, out of memory, ...)
    };
    Kind kind = Kind::other;
    std::string message;  // libcurl's text, e.g. "Connection reset by peer"
};

struct Result {
    std::optional<TransportError> error;  // set if no complete HTTP response arrived
    Response response;                    // valid when !error
    bool ok() const { return !error.has_value(); }
};

struct ClientOptions {
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds request_timeout{0};     // whole request; 0 = no limit
    std::chrono::milliseconds stall_timeout{60'000};  // no byte sent or received for this long; 0 = no limit
    std::string ca_file;                              // "" = the system's CA bundle
    std::string user_agent = "backhaul";
    std::function<bool()> cancelled;  // polled every 100 ms from the thread in perform(); may be empty
};

class Client {
  public:
    explicit Client(ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends one request and waits for the whole response. Never throws for network trouble: that is the error.
    Result perform(const Request& request);

  private:
    struct Handles;
    ClientOptions options_;
    std::unique_ptr<Handles> handles_;
};

// URL pieces the callers need for signing and policy checks.
struct Url {
    std::string scheme;  // lower case: "http", "https"
    std::string host;    // without brackets for IPv6 literals
    int port = 0;        // 0 = the scheme's default
    std::string path;    // "" or starting with '/', without the query
};

// nullopt if `text` is not scheme://host[:port][/path]; user info and fragments are refused.
std::optional<Url> parse_url(std::string_view text);
// "host" or "host:port" as the Host header must read (brackets around IPv6 literals).
std::string host_header(const Url& url);
// True for localhost, 127.0.0.0/8 and ::1.
bool is_loopback_host(std::string_view host);
// What is wrong with `text` as the URL of an HTTP service a plugin's options name, or nullopt if nothing: it must be
// http:// or https:// with a host name or IP literal, and obey the plain-http rule of every such plugin: http:// only
// to a loopback host (a test server, a local proxy) unless the operator set `insecure_http = true`, since credentials,
// secrets and run reports would cross the network in clear. The message never repeats the URL (a webhook URL is a
// credential): the caller names the option. Pure, for a plugin's static validate.
std::optional<std::string> http_url_problem(std::string_view text, bool insecure_http);

}  // namespace backhaul::http
