#include <pwd.h>
#include <unistd.h>

#include <backhaul/sdk.hpp>
#include <backhaul/support/aws/credential_chain.hpp>
#include <backhaul/support/aws/shared_config.hpp>
#include <backhaul/support/crypto/secret_json.hpp>
#include <backhaul/support/crypto/secure_memory.hpp>
#include <backhaul/support/process/child_process.hpp>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

extern char** environ;

namespace backhaul::aws {
namespace {

using std::chrono::system_clock;

// The longest credential_process may take: an SSO helper may wait for a browser login, but a run must not hang.
constexpr auto kProcessTimeout = std::chrono::minutes(2);
// More than any credential_process prints (a session token is a few KiB).
constexpr size_t kMaxProcessOutput = 64 * 1024;
// Refresh credentials that expire this long before they do, at most (botocore's "mandatory" window).
constexpr auto kRefreshWindow = std::chrono::minutes(10);

std::string variable(const Environment& environment, const std::string& name) { return environment(name).value_or(""); }

// "~" and "~/x" as the AWS CLI expands them (os.path.expanduser): $HOME, else the password database.
std::string expand_home(const std::string& path, const Environment& environment) {
    if (path != "~" && path.rfind("~/", 0) != 0) return path;
    std::string home = variable(environment, "HOME");
    if (home.empty())
        if (const passwd* user = ::getpwuid(::getuid())) home = user->pw_dir ? user->pw_dir : "";
    if (home.empty()) throw Error(Status::fatal, "cannot expand '" + path + "': HOME is not set");
    return home + path.substr(1);
}

std::string file_path(const Environment& environment, const char* variable_name, const char* fallback) {
    std::string path = variable(environment, variable_name);
    return expand_home(path.empty() ? fallback : path, environment);
}

// The key pair in `section`, if it has one; a half pair is an error, as in the AWS CLI.
std::optional<Credentials> keys_in(const IniSection* section, const std::string& where) {
    if (!section) return std::nullopt;
    const std::string* access = section->find("aws_access_key_id");
    const std::string* secret = section->find("aws_secret_access_key");
    auto given = [](const std::string* value) { return value && !value->empty(); };
    if (!given(access) && !given(secret)) return std::nullopt;
    if (!given(access) || !given(secret))
        throw Error(Status::fatal, where + " has " + (given(access) ? "aws_access_key_id" : "aws_secret_access_key") +
                                       " without " + (given(access) ? "aws_secret_access_key" : "aws_access_key_id"));
    Credentials credentials{*access, *secret, ""};
    if (const std::string* token = section->find("aws_session_token")) credentials.session_token = *token;
    return credentials;
}

ResolvedCredentials run_credential_process(const std::string& command, const std::string& source, const StopCheck& stop,
                                           system_clock::time_point now) {
    ChildSpec spec;
    try {
        spec.argv = split_command_line(command);
    } catch (const std::invalid_argument& e) {
        throw Error(Status::fatal, source + " is not a valid command line: " + e.what());
    }
    if (spec.argv.empty()) throw Error(Status::fatal, source + " is empty");
    // The AWS CLI gives the helper our whole environment: Vault, SSO and cloud CLIs find their address, token
    // cache and profile there. Nothing of ours is added, and no value goes on its command line.
    for (char** entry = environ; *entry; ++entry) {
        std::string_view text(*entry);
        const size_t equals = text.find('=');
        if (equals != std::string_view::npos && equals > 0)
            spec.env.emplace_back(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
    spec.input = ChildSpec::Input::null;
    spec.output = ChildSpec::Output::pipe;

    const auto deadline = std::chrono::steady_clock::now() + kProcessTimeout;
    bool timed_out = false;
    const CancelCheck cancelled = [&] {
        if (stop && stop()) return true;
        timed_out = std::chrono::steady_clock::now() >= deadline;
        return timed_out;
    };
    crypto::SecretString output;
    try {
        ChildProcess child(std::move(spec));
        uint8_t buffer[4096];
        for (;;) {
            const size_t got = child.read_stdout(buffer, cancelled);
            if (got == 0) break;
            if (output.size() + got > kMaxProcessOutput) {
                OPENSSL_cleanse(buffer, sizeof buffer);
                throw Error(Status::fatal, source + " printed more than 64 KiB; expected one JSON object");
            }
            output.append(reinterpret_cast<const char*>(buffer), got);
        }
        OPENSSL_cleanse(buffer, sizeof buffer);
        // Its stderr is shown only when it fails, as the AWS CLI shows it: on success it is nobody's business.
        const ExitStatus status = child.wait(cancelled);
        if (!status.success()) throw Error(Status::fatal, source + " failed: " + child.describe(status));
    } catch (const Error& e) {
        if (e.status() != Status::cancelled) throw;
        if (timed_out)
            throw Error(Status::fatal, source + " did not finish within " +
                                           std::to_string(std::chrono::minutes(kProcessTimeout).count()) + " minutes");
        throw;
    }
    return parse_process_credentials(std::string_view(output.data(), output.size()), source, now);
}

std::string format_utc(system_clock::time_point time) {
    const std::time_t seconds = system_clock::to_time_t(time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

}  // namespace

Environment process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

std::optional<system_clock::time_point> parse_iso8601(std::string_view text) {
    auto digits = [&](size_t at, size_t count, int& out) {
        if (at + count > text.size()) return false;
        out = 0;
        for (size_t i = at; i < at + count; ++i) {
            if (text[i] < '0' || text[i] > '9') return false;
            out = out * 10 + (text[i] - '0');
        }
        return true;
    };
    std::tm time{};
    int year, month, day, hour, minute, second;
    if (!digits(0, 4, year) || text.size() < 19 || text[4] != '-' || !digits(5, 2, month) || text[7] != '-' ||
        !digits(8, 2, day) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(11, 2, hour) ||
        text[13] != ':' || !digits(14, 2, minute) || text[16] != ':' || !digits(17, 2, second))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    size_t at = 19;
    if (at < text.size() && text[at] == '.') {
        ++at;
        const size_t start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
        if (at == start) return std::nullopt;  // fractions are dropped: expirations are whole seconds
    }
    int offset_seconds = 0;
    if (at < text.size() && (text[at] == 'Z' || text[at] == 'z') && at + 1 == text.size()) {
    } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
        int offset_hours, offset_minutes;
        if (!digits(at + 1, 2, offset_hours) || !digits(at + 4, 2, offset_minutes)) return std::nullopt;
        offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (text[at] == '+' ? 1 : -1);
    } else {
        return std::nullopt;  // no zone: which hour it is would be a guess
    }
    time.tm_year = year - 1900;
    time.tm_mon = month - 1;
    time.tm_mday = day;
    time.tm_hour = hour;
    time.tm_min = minute;
    time.tm_sec = second;
    return system_clock::from_time_t(timegm(&time)) - std::chrono::seconds(offset_seconds);
}

std::vector<std::string> split_command_line(std::string_view line) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else if (c == '\'') {
            const size_t close = line.find('\'', i + 1);
            if (close == std::string_view::npos) throw std::invalid_argument("unterminated ' quote");
            word.append(line.substr(i + 1, close - i - 1));
            i = close;
            in_word = true;
        } else if (c == '"') {
            size_t j = i + 1;
            for (; j < line.size() && line[j] != '"'; ++j) {
                if (line[j] == '\\' && j + 1 < line.size() &&
                    (line[j + 1] == '"' || line[j + 1] == '\\' || line[j + 1] == '$' || line[j + 1] == '`'))
                    ++j;
                word.push_back(line[j]);
            }
            if (j >= line.size()) throw std::invalid_argument("unterminated \" quote");
            i = j;
            in_word = true;
        } else if (c == '\\') {
            if (i + 1 < line.size()) word.push_back(line[++i]);
            in_word = true;
        } else {
            word.push_back(c);
            in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

ResolvedCredentials parse_process_credentials(std::string_view output, const std::string& source,
                                              system_clock::time_point now) {
    using crypto::SecretJson;
    using crypto::SecretString;
    SecretJson parsed = SecretJson::parse(output.begin(), output.end(), nullptr, /*allow_exceptions=*/false);
    crypto::WipeOnExit wipe_parsed(parsed);
    if (parsed.is_discarded() || !parsed.is_object())
        throw Error(Status::fatal, source + " did not print a JSON object (" + std::to_string(output.size()) +
                                       " bytes on standard output)");
    auto version = parsed.find("Version");
    if (version == parsed.end() || !version->is_number_integer() || version->get<int64_t>() != 1)
        throw Error(Status::fatal, source + " printed no \"Version\": 1 (the only credential_process format)");
    auto text = [&](const char* name, bool required) -> std::optional<std::string> {
        auto member = parsed.find(name);
        if (member == parsed.end() || member->is_null()) {
            if (required) throw Error(Status::fatal, source + " printed no \"" + std::string(name) + "\"");
            return std::nullopt;
        }
        if (!member->is_string() || (required && member->get_ref<const SecretString&>().empty()))
            throw Error(Status::fatal,
                        source + " printed a \"" + std::string(name) + "\" that is not a non-empty string");
        const SecretString& value = member->get_ref<const SecretString&>();
        return std::string(value.data(), value.size());
    };
    ResolvedCredentials out;
    out.source = source;
    out.credentials.access_key = *text("AccessKeyId", true);
    out.credentials.secret_key = *text("SecretAccessKey", true);
    out.credentials.session_token = text("SessionToken", false).value_or("");
    if (std::optional<std::string> expiration = text("Expiration", false)) {
        out.expiration = parse_iso8601(*expiration);
        if (!out.expiration)
            throw Error(Status::fatal,
                        source + " printed an \"Expiration\" that is not an ISO 8601 time: '" + *expiration + "'");
        if (*out.expiration <= now)
            throw Error(Status::fatal, source + " returned credentials that expired at " + format_utc(*out.expiration) +
                                           " (now " + format_utc(now) + "); nothing was sent");
    }
    return out;
}

ResolvedCredentials resolve_credentials(const CredentialOptions& options, const Environment& environment,
                                        const StopCheck& stop, system_clock::time_point now) {
    if (options.configured) return {*options.configured, kOptionsSource, std::nullopt};

    // 2. The environment, unless the pipeline names a profile (as `aws --profile x` ignores these variables).
    const std::string env_access = variable(environment, "AWS_ACCESS_KEY_ID");
    const std::string env_secret = variable(environment, "AWS_SECRET_ACCESS_KEY");
    if (options.profile.empty() && (!env_access.empty() || !env_secret.empty())) {
        if (env_access.empty() || env_secret.empty())
            throw Error(Status::fatal, std::string("the environment has ") +
                                           (env_access.empty() ? "AWS_SECRET_ACCESS_KEY without AWS_ACCESS_KEY_ID"
                                                               : "AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY"));
        return {{env_access, env_secret, variable(environment, "AWS_SESSION_TOKEN")},
                "environment (AWS_ACCESS_KEY_ID)",
                std::nullopt};
    }

    std::string profile = options.profile;
    const bool profile_named = !profile.empty() || !variable(environment, "AWS_PROFILE").empty();
    if (profile.empty()) profile = variable(environment, "AWS_PROFILE");
    if (profile.empty()) profile = "default";
    const std::string credentials_path = file_path(environment, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials");
    const std::string config_path = file_path(environment, "AWS_CONFIG_FILE", "~/.aws/config");
    const std::optional<IniFile> credentials_file = read_ini_file(credentials_path);
    const std::optional<IniFile> config_file = read_ini_file(config_path);
    const IniSection* in_credentials = credentials_file ? credentials_file->section(profile) : nullptr;
    const IniSection* in_config = config_file ? config_profile(*config_file, profile) : nullptr;
    const std::string name = "profile '" + profile + "'";

    // 3. Keys in the credentials file.
    if (auto keys = keys_in(in_credentials, name + " in " + credentials_path))
        return {*keys, name + " in " + credentials_path, std::nullopt};

    // 4. credential_process, from either file (the credentials file's entry wins, as botocore merges them).
    const std::string* process = in_credentials ? in_credentials->find("credential_process") : nullptr;
    std::string process_file = credentials_path;
    if (!process && in_config) {
        process = in_config->find("credential_process");
        process_file = config_path;
    }
    if (process && !process->empty())
        return run_credential_process(*process, "credential_process of " + name + " in " + process_file, stop, now);

    // 5. Keys in the config file.
    if (auto keys = keys_in(in_config, name + " in " + config_path))
        return {*keys, name + " in " + config_path, std::nullopt};

    // What the AWS CLI would do next, and we do not.
    for (const IniSection* section : {in_credentials, in_config}) {
        if (!section) continue;
        for (const char* key : {"role_arn", "sso_session", "sso_start_url", "web_identity_token_file"})
            if (section->find(key))
                throw Error(Status::fatal, name + " uses " + key +
                                               ", which backhaul does not follow; give the profile a "
                                               "credential_process instead (with AWS CLI v2: credential_process = "
                                               "aws configure export-credentials --profile " +
                                               profile + " --format process)");
    }
    if (in_credentials || in_config)
        throw Error(Status::fatal, name +
                                       " has no aws_access_key_id/aws_secret_access_key and no credential_process (" +
                                       credentials_path + ", " + config_path + ")");
    if (profile_named) throw Error(Status::fatal, name + " is in neither " + credentials_path + " nor " + config_path);
    throw Error(Status::fatal,
                "no credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or a [default] profile in " +
                    credentials_path + " or " + config_path);
}

CredentialProvider::CredentialProvider(CredentialOptions options, Environment environment, Log info, Log warn,
                                       Clock clock)
    : options_(std::move(options)),
      environment_(std::move(environment)),
      info_(std::move(info)),
      warn_(std::move(warn)),
      clock_(std::move(clock)) {}

void CredentialProvider::refresh_locked(const StopCheck& stop) {
    const system_clock::time_point now = clock_();
    if (current_ && (!current_->expiration || now < refresh_at_)) return;
    const bool first = !current_;
    try {
        ResolvedCredentials fresh = resolve_credentials(options_, environment_, stop, now);
        if (fresh.expiration) {
            const auto left = *fresh.expiration - now;
            refresh_at_ = *fresh.expiration - std::min<system_clock::duration>(kRefreshWindow, left / 2);
        }
        if (first) {
            info_("credentials from " + fresh.source +
                  (fresh.expiration ? ", valid until " + format_utc(*fresh.expiration) : ""));
        } else {
            info_("credentials renewed from " + fresh.source +
                  (fresh.expiration ? ", valid until " + format_utc(*fresh.expiration) : ""));
        }
        if (current_) {
            crypto::wipe(current_->credentials.secret_key);
            crypto::wipe(current_->credentials.session_token);
        }
        current_ = std::move(fresh);
    } catch (const Error& e) {
        if (first || e.status() == Status::cancelled || now >= *current_->expiration) throw;
        warn_("cannot renew credentials: " + std::string(e.what()) + "; using those from " + current_->source +
              " until they expire at " + format_utc(*current_->expiration));
        // Try again in a minute, not on every request.
        refresh_at_ = std::min(now + std::chrono::minutes(1), *current_->expiration);
    }
}

Credentials CredentialProvider::get(const StopCheck& stop) {
    std::lock_guard lock(mutex_);
    refresh_locked(stop);
    return current_->credentials;
}

std::string CredentialProvider::source(const StopCheck& stop) {
    std::lock_guard lock(mutex_);
    refresh_locked(stop);
    return current_->source;
}

std::string CredentialProvider::known_source() {
    std::lock_guard lock(mutex_);
    return current_ ? current_->source : "";
}

}  // namespace backhaul::aws
