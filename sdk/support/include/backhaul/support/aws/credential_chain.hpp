// Where AWS-style credentials come from when a pipeline does not write them in, in the AWS CLI's order (botocore's
// credential resolver), for every plugin that signs with SigV4:
//
//   1. the plugin's own options (access_key + secret_key [+ session_token]);
//   2. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN] - skipped when the `profile` option names a
//      profile, as `aws --profile x` skips them (AWS_PROFILE does not);
//   3. the profile's aws_access_key_id / aws_secret_access_key [/ aws_session_token] in the shared credentials file
//      (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; sections `[NAME]`);
//   4. the profile's credential_process (in either file; the credentials file wins), run without a shell;
//   5. the same keys in the config file (AWS_CONFIG_FILE, else ~/.aws/config; sections `[profile NAME]`, `[default]`).
//
// The profile is the `profile` option, else AWS_PROFILE, else "default". Roles, SSO and instance metadata are not
// followed: a profile that uses them says so and points at credential_process. Values never appear in messages;
// each result carries a `source` that names where it came from.
#pragma once

#include <backhaul/support/aws/sigv4.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backhaul::aws {

// Reads one environment variable; nullopt (or "") = unset. process_environment() reads ours.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

// Polled while credential_process runs; true stops it.
using StopCheck = std::function<bool()>;

// ResolvedCredentials::source of CredentialOptions::configured.
inline constexpr const char* kOptionsSource = "the access_key and secret_key options";

struct CredentialOptions {
    std::optional<Credentials> configured;  // the plugin's options, if it set access_key and secret_key
    std::string profile;                    // the `profile` option; "" = AWS_PROFILE, else "default"
};

struct ResolvedCredentials {
    Credentials credentials;
    // For the log, never a value: "environment (AWS_ACCESS_KEY_ID)", "profile 'x' in /root/.aws/credentials",
    // "credential_process of profile 'x' in /root/.aws/config", "the access_key and secret_key options".
    std::string source;
    // When the credentials stop working (credential_process's Expiration); nullopt = they do not expire by
    // themselves.
    std::optional<std::chrono::system_clock::time_point> expiration;
};

// One walk of the chain. Throws backhaul::Error(fatal) with one line saying what is missing or wrong (a partial
// pair, a malformed file "PATH:LINE: ...", a profile that does not exist, a failed or expired credential_process),
// or Error(cancelled) when `stop` stopped credential_process.
ResolvedCredentials resolve_credentials(const CredentialOptions& options, const Environment& environment,
                                        const StopCheck& stop, std::chrono::system_clock::time_point now);

// credential_process's standard output: {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?,
// "Expiration"? (ISO 8601)}. Throws Error(fatal) naming `source` if it is not that, or if Expiration is not after
// `now`.
ResolvedCredentials parse_process_credentials(std::string_view output, const std::string& source,
                                              std::chrono::system_clock::time_point now);

// Splits a credential_process line into argv as the AWS CLI does (POSIX shell words: whitespace separates,
// '...' literal, "..." with \" \\ \$ \` escapes, \ outside quotes escapes the next character; no expansion).
// Throws std::invalid_argument for an unterminated quote.
std::vector<std::string> split_command_line(std::string_view line);

// "2026-12-02T08:00:00Z", "2026-12-02T08:00:00.123+09:00" -> time point; nullopt if not ISO 8601 with a zone.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

// The credentials of one plugin instance, shared by all its threads: resolved on first use (so `validate` and a
// create that is never used touch nothing), logged once with their source, and resolved again before credentials
// that expire do (credential_process with an Expiration): when less than the smaller of 10 minutes and half their
// lifetime is left. A failed refresh keeps the old credentials, with a warning, while they are still valid.
class CredentialProvider {
  public:
    using Clock = std::function<std::chrono::system_clock::time_point()>;
    using Log = std::function<void(const std::string& line)>;

    CredentialProvider(
        CredentialOptions options, Environment environment, Log info, Log warn,
        Clock clock = [] { return std::chrono::system_clock::now(); });

    // The credentials to sign a request with now. Thread-safe; throws what resolve_credentials throws.
    Credentials get(const StopCheck& stop);
    // Where get() took them from (resolving first if nothing was resolved yet).
    std::string source(const StopCheck& stop);
    // The source of the credentials resolved last, without resolving; "" before the first get().
    std::string known_source();

  private:
    void refresh_locked(const StopCheck& stop);

    CredentialOptions options_;
    Environment environment_;
    Log info_, warn_;
    Clock clock_;
    std::mutex mutex_;
    std::optional<ResolvedCredentials> current_;
    std::chrono::system_clock::time_point refresh_at_;
};

}  // namespace backhaul::aws
