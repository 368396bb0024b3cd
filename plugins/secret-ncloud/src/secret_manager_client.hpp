// One GetSecretValue call against NCloud Secret Manager: signed with signature v2, retried through THE retry policy on
// transport errors and 5xx only, and every failure turned into one user-facing line that carries no secret material.
#pragma once

#include <backhaul/sdk.hpp>
#include <backhaul/support/crypto/secure_memory.hpp>
#include <backhaul/support/http/http_client.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace backhaul::ncloud {

struct SecretManagerConfig {
    std::string endpoint_text;  // as configured, for messages
    http::Url endpoint;         // path without a trailing '/'
    std::string access_key;
    crypto::SecretString secret_key;
    std::string secret_id;
    std::string stage;  // active | previous | pending
    std::chrono::milliseconds timeout{30'000};
    int max_retries = 3;
    std::string ca_file;  // "" = the system's CA bundle

    // Every problem with the options that the limits cannot express (formats); no I/O. Values built from unfetched
    // secrets are skipped.
    static void validate(const Options& options, Problems& problems);
    // Copies options that passed the plugin's limits and validate().
    static SecretManagerConfig from_options(const Options& options);

    // "/api/v1/secrets/{secretId}/values": the request target that is sent and signed.
    std::string request_target() const;

    SecretManagerConfig() = default;
    SecretManagerConfig(SecretManagerConfig&&) = default;
    SecretManagerConfig& operator=(SecretManagerConfig&&) = default;
    ~SecretManagerConfig() { crypto::wipe(secret_key); }
};

// What an error answer said, from NCloud's envelope {"error":{"errorCode":..,"message":..,"details":..}}.
struct ErrorEnvelope {
    std::string code;
    std::string message;
    std::string details;
};
std::optional<ErrorEnvelope> parse_error_envelope(std::string_view body);

// Server time minus local time, from the answer's Date header; nullopt without a parsable Date.
std::optional<std::chrono::seconds> clock_skew(const http::Response& response,
                                               std::chrono::system_clock::time_point local_now);

// The error for a non-200 answer that is not retried (or no longer): one line, status chosen by the HTTP status.
Error error_for_status(const SecretManagerConfig& config, long status, std::string_view body,
                       std::optional<std::chrono::seconds> skew, int attempts);

class SecretManagerClient {
  public:
    SecretManagerClient(const SecretManagerConfig& config, Host host);

    // The body of a 200 answer. Throws backhaul::Error otherwise.
    crypto::SecretString get_secret_value();

  private:
    const SecretManagerConfig& config_;
    Host host_;
};

}  // namespace backhaul::ncloud
