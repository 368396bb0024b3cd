// The sink's options: their limits and formats (checked by `backhaul validate` and before create), and the config
// built from them once in create(): everything a request needs that does not change during a run.
#pragma once

#include <backhaul/sdk.hpp>
#include <backhaul/support/aws/credential_chain.hpp>
#include <backhaul/support/aws/sigv4.hpp>
#include <backhaul/support/http/http_client.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "part_plan.hpp"

namespace backhaul::s3 {

// The option table, in the order create() receives the values.
std::span<const bh_option_spec> option_specs();
// The ranges of those options, checked by the host.
std::span<const bh_option_limits> option_limits();

// Option `conditional_writes`: how a commit makes sure it replaces nothing (no_overwrite.hpp).
enum class ConditionalWrites {
    automatic,  // HeadObject at begin and before the commit, plus If-None-Match: * unless the store answers 501
    header,     // If-None-Match: * only; for stores known to honour it, with keys that may not read
    check,      // HeadObject only; for stores that fail requests carrying the header
};

struct S3Config {
    http::Url endpoint;  // parsed `endpoint`; endpoint.path is a prefix for every request path ("" usually)
    std::string endpoint_text;
    std::string region;
    std::string bucket;
    // The options' keys, or the AWS CLI's chain (environment, ~/.aws files, credential_process), resolved on first
    // use and renewed before they expire; shared by every thread and copy of the config.
    std::shared_ptr<aws::CredentialProvider> credentials;
    bool virtual_addressing = false;
    BufferPlan buffers;              // part size and buffers in flight (part_plan.hpp)
    std::string storage_class;       // "" = the bucket's default
    http::Headers metadata_headers;  // x-amz-meta-* from the `metadata` option
    std::string ca_file;
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds request_timeout{600'000};
    int max_retries = 5;
    int list_page_size = 1000;
    ConditionalWrites conditional_writes = ConditionalWrites::automatic;

    // Every problem with the options that the limits cannot express (formats, combinations); no I/O. Values built
    // from unfetched secrets are skipped.
    static void validate(const Options& options, Problems& problems);
    // The config from options that passed option_limits() and validate(); `host` logs where credentials came from.
    static S3Config from_options(const Options& options, Host host);
};

// S3 bucket names are 3 to 63 characters (the rest of the rules are in validate).
constexpr int64_t kMinBucketName = 3;
constexpr int64_t kMaxBucketName = 63;
constexpr uint64_t kMinPartSize = 5ull << 20;  // S3: every part but the last is at least 5 MiB
constexpr uint64_t kMaxPartSize = 5ull << 30;  // S3: at most 5 GiB per part
constexpr uint32_t kMaxParts = 10'000;         // S3: at most 10,000 parts per upload

// The x-amz-meta-<name> header for one metadata pair: name in lower case; a value that is not printable ASCII is
// percent-encoded (HTTP headers cannot carry it portably).
std::pair<std::string, std::string> metadata_header(std::string_view name, std::string_view value);

}  // namespace backhaul::s3
