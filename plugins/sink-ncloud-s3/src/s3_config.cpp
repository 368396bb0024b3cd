#include "s3_config.hpp"

#include <algorithm>

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
    {"access_key", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr,
     "Access key ID; may contain ':' (Swift tempauth keys are account:user)."},
    {"secret_key", BH_OPT_STRING, BH_OPT_REQUIRED | BH_OPT_SECRET, nullptr, nullptr,
     "Secret access key; typically \"${env:...}\" or \"${secret:...}\"."},
    {"addressing", BH_OPT_ENUM, 0, "\"path\"", kAddressing,
     "\"path\" (https://endpoint/bucket/key) or \"virtual\" (https://bucket.endpoint/key)."},
    {"part_size", BH_OPT_SIZE, 0, "\"16MiB\"", nullptr,
     "Size of each uploaded part (at least 5 MiB); doubles every 900 parts so any stream fits in 10,000 parts."},
    {"concurrency", BH_OPT_INT, 0, "4", nullptr,
     "Parts uploaded (or ranges downloaded) in parallel; memory use is about concurrency x part_size."},
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

bool printable_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

std::span<const bh_option_spec> option_specs() { return kOptions; }

std::pair<std::string, std::string> metadata_header(std::string_view name, std::string_view value) {
    std::string header = "x-amz-meta-";
    for (char c : name) header.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return {header, printable_ascii(value) ? std::string(value) : aws::uri_encode(value)};
}

S3Config S3Config::from_options(const Options& options) {
    S3Config config;
    config.endpoint_text = options.string("endpoint");
    std::optional<http::Url> url = http::parse_url(config.endpoint_text);
    if (!url || (url->scheme != "http" && url->scheme != "https"))
        throw invalid_config("endpoint '" + config.endpoint_text + "' is not an http:// or https:// URL");
    while (!url->path.empty() && url->path.back() == '/') url->path.pop_back();
    config.endpoint = *url;
    config.ca_file = options.has("ca_file") ? options.string("ca_file") : "";
    http::refuse_remote_plain_http(*url, options.boolean("insecure_http"), "endpoint '" + config.endpoint_text + "'");

    config.region = options.string("region");
    if (config.region.empty()) throw invalid_config("option 'region' must not be empty");
    config.bucket = options.string("bucket");
    if (config.bucket.empty() || config.bucket.find('/') != std::string::npos)
        throw invalid_config("bucket '" + config.bucket + "' is not a bucket name");
    config.credentials.access_key = options.string("access_key");
    config.credentials.secret_key = options.string("secret_key");
    if (config.credentials.access_key.empty()) throw invalid_config("option 'access_key' must not be empty");
    if (config.credentials.secret_key.empty()) throw invalid_config("option 'secret_key' must not be empty");

    config.virtual_addressing = options.string("addressing") == "virtual";
    if (config.virtual_addressing && config.bucket.find('.') != std::string::npos && url->scheme == "https")
        throw invalid_config("bucket '" + config.bucket +
                             "' contains '.', which breaks TLS with virtual addressing; use addressing = \"path\"");

    config.part_size = options.size("part_size");
    if (config.part_size < kMinPartSize || config.part_size > kMaxPartSize)
        throw invalid_config("part_size must be between 5 MiB and 5 GiB (S3's part limits)");
    int64_t concurrency = options.integer("concurrency");
    if (concurrency < 1 || concurrency > 64) throw invalid_config("concurrency must be between 1 and 64");
    config.concurrency = static_cast<int>(concurrency);
    if (options.has("storage_class")) config.storage_class = options.string("storage_class");
    if (options.has("metadata"))
        for (const auto& [name, value] : options.table("metadata")) {
            if (name.empty() || !printable_ascii(name) || name.find_first_of(" :") != std::string::npos)
                throw invalid_config("metadata name '" + name + "' is not a valid header name");
            config.metadata_headers.push_back(metadata_header(name, value));
        }
    config.connect_timeout = options.duration("connect_timeout");
    config.request_timeout = options.duration("request_timeout");
    if (config.connect_timeout.count() <= 0) throw invalid_config("connect_timeout must be positive");
    if (config.request_timeout.count() < 0) throw invalid_config("request_timeout must not be negative");
    int64_t retries = options.integer("max_retries");
    if (retries < 0 || retries > 100) throw invalid_config("max_retries must be between 0 and 100");
    config.max_retries = static_cast<int>(retries);
    int64_t page = options.integer("list_page_size");
    if (page < 1 || page > 1000) throw invalid_config("list_page_size must be between 1 and 1000");
    config.list_page_size = static_cast<int>(page);
    std::string conditional = options.string("conditional_writes");
    config.conditional_writes = conditional == "header"  ? ConditionalWrites::header
                                : conditional == "check" ? ConditionalWrites::check
                                                         : ConditionalWrites::automatic;
    return config;
}

}  // namespace backhaul::s3
