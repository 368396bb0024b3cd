#include "s3_config.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace backhaul::s3 {
namespace {

const char* const kAddressing[] = {"path", "virtual", nullptr};
const char* const kConditionalWrites[] = {"auto", "header", "check", nullptr};

const bh_option_spec kOptions[] = {
    {"endpoint", BH_OPT_STRING, 0, "\"https://kr.object.ncloudstorage.com\"", nullptr,
     "Base URL of the S3 API: NCloud Object Storage by default, or any S3-compatible service."},
    {"region", BH_OPT_STRING, 0, "\"kr-standard\"", nullptr,
     "Region in the signature scope (NCloud: kr-standard, us-standard, ...; AWS: us-east-1, ...)."},
    {"bucket", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "Bucket that holds the backups."},
    {"access_key", BH_OPT_STRING, 0, nullptr, nullptr,
     "Access key ID, with secret_key; may contain ':' (Swift tempauth keys are account:user). Unset = the AWS CLI's "
     "chain: AWS_ACCESS_KEY_ID, then the profile in ~/.aws/credentials and ~/.aws/config."},
    {"secret_key", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "Secret access key, with access_key; typically \"${env:...}\" or \"${secret:...}\"."},
    {"session_token", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "Session token of temporary credentials, with access_key and secret_key; sent as X-Amz-Security-Token."},
    {"profile", BH_OPT_STRING, 0, nullptr, nullptr,
     "Profile of ~/.aws/credentials and ~/.aws/config to take credentials from, instead of AWS_PROFILE or "
     "\"default\"; the AWS_ACCESS_KEY_ID variables are then ignored."},
    {"addressing", BH_OPT_ENUM, 0, "\"path\"", kAddressing,
     "\"path\" (https://endpoint/bucket/key) or \"virtual\" (https://bucket.endpoint/key)."},
    {"part_size", BH_OPT_SIZE, 0, nullptr, nullptr,
     "Size of each uploaded part (at least 5 MiB); doubles every 900 parts so any stream fits in 10,000 parts. Unset: "
     "a quarter of the stage's memory share, 5 to 16 MiB."},
    {"concurrency", BH_OPT_INT, 0, nullptr, nullptr,
     "Part buffers (uploads or range downloads in flight, and the one being filled); memory use is concurrency x "
     "part_size. Unset: as many as the stage's memory share holds, 2 to 16."},
    {"storage_class", BH_OPT_STRING, 0, nullptr, nullptr,
     "x-amz-storage-class of new objects, e.g. STANDARD; unset = the bucket's default."},
    {"metadata", BH_OPT_TABLE, 0, nullptr, nullptr, "Extra object metadata, sent as x-amz-meta-<name> headers."},
    {"ca_file", BH_OPT_STRING, 0, nullptr, nullptr, "PEM file of CA certificates to trust instead of the system's."},
    {"insecure_http", BH_OPT_BOOL, 0, "false", nullptr,
     "Allow a plain http:// endpoint that is not on loopback (credentials stay signed, data travels in clear)."},
    {"connect_timeout", BH_OPT_DURATION, 0, "\"10s\"", nullptr, "Longest wait for a TCP/TLS connection."},
    {"request_timeout", BH_OPT_DURATION, 0, "\"10m\"", nullptr,
     "Longest time one request (e.g. one part) may take; a request that moves no byte for 60 s fails sooner."},
    {"max_retries", BH_OPT_INT, 0, "5", nullptr,
     "Retries of a request after connection errors, timeouts, HTTP 5xx, 429 or SlowDown (exponential backoff)."},
    {"list_page_size", BH_OPT_INT, 0, "1000", nullptr, "Keys per ListObjects request (1 to 1000)."},
    {"conditional_writes", BH_OPT_ENUM, 0, "\"auto\"", kConditionalWrites,
     "How a commit refuses to replace an existing object: \"auto\" (HeadObject checks and If-None-Match: *), "
     "\"header\" (If-None-Match only) or \"check\" (HeadObject only)."},
};

constexpr uint32_t kMinMax = BH_LIMIT_MIN | BH_LIMIT_MAX;

const bh_option_limits kLimits[] = {
    {"region", kMinMax, 1, 64},
    {"bucket", kMinMax, kMinBucketName, kMaxBucketName},
    {"access_key", BH_LIMIT_MIN, 1, 0},
    {"secret_key", BH_LIMIT_MIN, 1, 0},
    {"session_token", BH_LIMIT_MIN, 1, 0},
    {"profile", kMinMax, 1, 128},
    {"part_size", kMinMax, static_cast<int64_t>(kMinPartSize), static_cast<int64_t>(kMaxPartSize)},
    {"concurrency", kMinMax, 1, 64},
    {"storage_class", kMinMax, 1, 64},
    {"ca_file", BH_LIMIT_MIN, 1, 0},
    {"connect_timeout", BH_LIMIT_MIN, 1, 0},
    {"request_timeout", BH_LIMIT_MIN, 0, 0},
    {"max_retries", kMinMax, 0, 100},
    {"list_page_size", kMinMax, 1, 1000},
};

bool printable_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// S3's bucket naming rules beyond the length (which the limits check): lower-case letters, digits, '.' and '-',
// starting and ending with a letter or digit, no "..", not an IPv4 address, none of the reserved prefixes and
// suffixes. NCloud Object Storage and AWS refuse other names; Swift's s3api follows the same DNS-compatible rules.
std::optional<std::string> bucket_problem(std::string_view name) {
    if (name.empty()) return std::nullopt;  // the limits report it
    if (!std::all_of(name.begin(), name.end(), [](char c) { return lower_alnum(c) || c == '.' || c == '-'; }))
        return "must use only lower-case letters, digits, '.' and '-' (S3 bucket naming rules)";
    if (!lower_alnum(name.front()) || !lower_alnum(name.back())) return "must start and end with a letter or digit";
    if (name.find("..") != std::string_view::npos) return "must not contain \"..\"";
    if (std::all_of(name.begin(), name.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
        std::count(name.begin(), name.end(), '.') == 3)
        return "must not be formatted as an IP address";
    if (name.starts_with("xn--") || name.starts_with("sthree-")) return "must not start with \"xn--\" or \"sthree-\"";
    if (name.ends_with("-s3alias") || name.ends_with("--ol-s3")) return "must not end with \"-s3alias\" or \"--ol-s3\"";
    return std::nullopt;
}

// Regions are names like kr-standard, us-east-1 or Swift's RegionOne: they go into the signature's scope, which
// '/' would break.
bool valid_region(std::string_view region) {
    return std::all_of(region.begin(), region.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

// Which credentials the options choose: both keys (with an optional token), or neither (the AWS CLI's chain, maybe
// with a profile). A value from an unfetched secret counts as set: whether it is set is known, only not its value.
void validate_credentials(const Options& options, Problems& problems) {
    const bool access = options.has("access_key"), secret = options.has("secret_key");
    if (access != secret)
        problems.add(access ? "access_key" : "secret_key",
                     std::string("is set without ") + (access ? "secret_key" : "access_key") +
                         "; set both, or neither to take credentials from the environment or ~/.aws");
    if (options.has("session_token") && !(access && secret))
        problems.add("session_token", "needs access_key and secret_key (the token belongs to that pair)");
    if (options.has("profile") && (access || secret))
        problems.add("profile", std::string("cannot be used with ") + (access ? "access_key" : "secret_key") +
                                    ", which take precedence over any profile; remove one or the other");
    if (options.known("profile")) {
        const std::string profile = options.string("profile");
        const bool bad = std::any_of(profile.begin(), profile.end(),
                                     [](unsigned char c) { return c < 0x21 || c == 0x7f || c == '[' || c == ']'; });
        if (bad) problems.add("profile", "must be a profile name: no spaces, control characters, '[' or ']'");
    }
}

}  // namespace

std::span<const bh_option_spec> option_specs() { return kOptions; }
std::span<const bh_option_limits> option_limits() { return kLimits; }

std::pair<std::string, std::string> metadata_header(std::string_view name, std::string_view value) {
    std::string header = "x-amz-meta-";
    for (char c : name) header.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return {header, printable_ascii(value) ? std::string(value) : aws::uri_encode(value)};
}

void S3Config::validate(const Options& options, Problems& problems) {
    const bool insecure_http = options.boolean("insecure_http");
    if (options.known("endpoint"))
        if (auto problem = http::http_url_problem(options.string("endpoint"), insecure_http))
            problems.add("endpoint", *problem);
    if (options.known("region") && !valid_region(options.string("region")))
        problems.add("region", "must use only letters, digits, '-' and '_' (e.g. kr-standard, us-east-1)");
    if (options.known("bucket")) {
        const std::string bucket = options.string("bucket");
        if (auto problem = bucket_problem(bucket)) problems.add("bucket", *problem);
        std::optional<http::Url> endpoint =
            options.known("endpoint") ? http::parse_url(options.string("endpoint")) : std::nullopt;
        if (options.string("addressing") == "virtual" && bucket.find('.') != std::string::npos && endpoint &&
            endpoint->scheme == "https")
            problems.add("bucket", "contains '.', which breaks TLS with virtual addressing; use addressing = \"path\"");
    }
    if (options.known("storage_class")) {
        const std::string storage_class = options.string("storage_class");
        if (!std::all_of(storage_class.begin(), storage_class.end(),
                         [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }))
            problems.add("storage_class", "must use only upper-case letters, digits and '_' (e.g. STANDARD)");
    }
    validate_credentials(options, problems);
    if (options.known("metadata"))
        for (const auto& [name, value] : options.table("metadata"))
            if (name.empty() || !printable_ascii(name) || name.find_first_of(" :") != std::string::npos)
                problems.add("metadata",
                             "name '" + name + "' is not a valid header name (printable ASCII, no ' ' or ':')");
}

S3Config S3Config::from_options(const Options& options, Host host) {
    S3Config config;
    aws::CredentialOptions credentials;
    if (options.has("access_key"))
        credentials.configured = aws::Credentials{options.string("access_key"), options.string("secret_key"),
                                                  options.optional_string("session_token").value_or("")};
    credentials.profile = options.optional_string("profile").value_or("");
    config.credentials = std::make_shared<aws::CredentialProvider>(
        std::move(credentials), aws::process_environment(), [host](const std::string& line) { host.info(line); },
        [host](const std::string& line) { host.warn(line); });
    config.endpoint_text = options.string("endpoint");
    http::Url url = *http::parse_url(config.endpoint_text);
    while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
    config.endpoint = url;
    config.ca_file = options.has("ca_file") ? options.string("ca_file") : "";
    config.region = options.string("region");
    config.bucket = options.string("bucket");
    config.virtual_addressing = options.string("addressing") == "virtual";
    const std::optional<uint64_t> part_size =
        options.has("part_size") ? std::optional<uint64_t>(options.size("part_size")) : std::nullopt;
    const std::optional<int> concurrency = options.has("concurrency")
                                               ? std::optional<int>(static_cast<int>(options.integer("concurrency")))
                                               : std::nullopt;
    const uint64_t share = host.memory_share();
    config.buffers = plan_buffers(part_size, concurrency, share);
    const uint64_t holds = config.buffers.part_size * static_cast<uint64_t>(config.buffers.concurrency);
    if (share != 0 && holds > share)
        host.warn("part_size x concurrency holds " + std::to_string(holds >> 20) + " MiB, more than this stage's " +
                  std::to_string(share >> 20) + " MiB share of memory_budget; raise memory_budget or unset them");
    if (options.has("storage_class")) config.storage_class = options.string("storage_class");
    if (options.has("metadata"))
        for (const auto& [name, value] : options.table("metadata"))
            config.metadata_headers.push_back(metadata_header(name, value));
    config.connect_timeout = options.duration("connect_timeout");
    config.request_timeout = options.duration("request_timeout");
    config.max_retries = static_cast<int>(options.integer("max_retries"));
    config.list_page_size = static_cast<int>(options.integer("list_page_size"));
    std::string conditional = options.string("conditional_writes");
    config.conditional_writes = conditional == "header"  ? ConditionalWrites::header
                                : conditional == "check" ? ConditionalWrites::check
                                                         : ConditionalWrites::automatic;
    return config;
}

}  // namespace backhaul::s3
