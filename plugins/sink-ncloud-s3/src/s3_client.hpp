// One S3 connection: builds the URL for the configured addressing style, signs every attempt with SigV4 (real payload
// SHA-256 and Content-MD5 on every request with a body; never x-amz-checksum-*), sends it through the shared HTTP
// client, retries per the shared retry policy, and turns failures into S3Error. One thread at a time; each worker
// thread makes its own.
#pragma once

#include <atomic>
#include <backhaul/sdk.hpp>
#include <backhaul/support/aws/sigv4.hpp>
#include <backhaul/support/http/http_client.hpp>
#include <backhaul/support/http/retry_policy.hpp>
#include <functional>
#include <mutex>
#include <set>
#include <span>
#include <string>

#include "s3_config.hpp"
#include "s3_error.hpp"

namespace backhaul::s3 {

struct S3Request {
    std::string method = "GET";
    std::string key;  // "" = the bucket itself
    aws::QueryParameters query;
    http::Headers headers;          // extra headers to send and sign (x-amz-meta-*, range, ...)
    std::span<const uint8_t> body;  // (borrowed until execute returns)
    std::string content_md5;        // Base64; computed from body when empty and the body is not
    std::string payload_sha256;     // hex; computed from body when empty
    // The most of the answer kept in memory: XML answers fit (a ListObjects page or DeleteObjects result of 1000
    // keys of up to 1024 bytes, URL-encoded, is a few MiB); GetObject sets the size of the range it asked for.
    size_t max_body_bytes = size_t{16} << 20;
    // Memory to collect the answer in and that failed attempts give back (http::Request::body_buffer).
    std::string* body_buffer = nullptr;
};

class S3Client {
  public:
    // `stop` (may be empty) is polled with the host's cancellation; either one stops requests and retry waits.
    S3Client(const S3Config& config, Host host, std::function<bool()> stop = {}, bool ignore_cancellation = false);

    // Sends `request`, retrying what is worth retrying. Returns a 2xx response; throws S3Error for an error status
    // (or when retries ran out), Error(cancelled) when cancelled, Error(retryable) when the network never answered.
    // `operation` names the request in messages ("PutObject s3://bucket/key").
    http::Response execute(const S3Request& request, const std::string& operation);
    // How many attempts the last execute() made: more than one means an earlier one may have reached the server.
    int attempts() const { return attempts_; }

    // Requests (by their operation's name, "PutObject") for which the store answered If-None-Match with 501: sent
    // without it from then on, so a store that never supports it costs one refused request per instance, not one per
    // object. Thread-safe.
    bool conditional_refused(const std::string& operation) const {
        std::lock_guard lock(conditional_mutex_);
        return conditional_refused_.count(operation.substr(0, operation.find(' '))) != 0;
    }
    void refuse_conditional(const std::string& operation) {
        std::lock_guard lock(conditional_mutex_);
        conditional_refused_.insert(operation.substr(0, operation.find(' ')));
    }

    std::string display(const std::string& key) const { return "s3://" + config_.bucket + "/" + key; }
    const S3Config& config() const { return config_; }
    Host host() const { return host_; }
    bool cancelled() const;

  private:
    http::Request build(const S3Request& request, const std::string& content_md5, const std::string& payload_hash);

    const S3Config& config_;
    Host host_;
    std::function<bool()> stop_;
    bool ignore_cancellation_;
    http::Client http_;
    http::RetryPolicy retry_;
    int attempts_ = 0;
    std::string session_token_;  // the token the last request was signed with, to keep it out of error details
    mutable std::mutex conditional_mutex_;
    std::set<std::string> conditional_refused_;
};

}  // namespace backhaul::s3
