// sink-ncloud-s3: stores backups in NCloud Object Storage or any S3-compatible store. begin() only checks that the key
// is free (no_overwrite.hpp); bytes become a PutObject or a multipart upload (multipart_upload.hpp) that only commit()
// completes.
#include <backhaul/sdk.hpp>

#include "bucket_listing.hpp"
#include "multipart_upload.hpp"
#include "no_overwrite.hpp"
#include "object_deletion.hpp"
#include "object_head.hpp"
#include "object_reader.hpp"
#include "s3_client.hpp"
#include "s3_config.hpp"
#include "store_check.hpp"

namespace backhaul::s3 {
namespace {

class S3Sink final : public Sink {
  public:
    S3Sink(Host host, const Options& options) : host_(host), config_(S3Config::from_options(options, host)) {}
    static void validate(const Options& options, Problems& problems) { S3Config::validate(options, problems); }

    std::unique_ptr<Upload> begin(const std::string& key, const Metadata& metadata) override {
        check_key(key);
        http::Headers headers = {{"content-type", "application/octet-stream"}};
        if (!config_.storage_class.empty()) headers.emplace_back("x-amz-storage-class", config_.storage_class);
        for (const auto& header : config_.metadata_headers) headers.push_back(header);
        for (const auto& [name, value] : metadata) headers.push_back(metadata_header(name, value));
        // Checked again when the upload commits; failing here saves streaming a whole backup first.
        S3Client client(config_, host_);
        check_absent(client, key);
        return std::make_unique<MultipartUpload>(config_, host_, key, std::move(headers));
    }

    std::unique_ptr<backhaul::ObjectReader> open_read(const std::string& key) override {
        check_key(key);
        return std::make_unique<ObjectReader>(config_, host_, key);
    }

    void list(const std::string& prefix, const ListSink& emit) override {
        S3Client client(config_, host_);
        list_objects(client, prefix, emit);
    }

    ObjectInfo stat(const std::string& key) override {
        check_key(key);
        S3Client client(config_, host_);
        std::optional<http::Response> response = head_object(client, key);
        if (!response) throw Error(Status::fatal, "object '" + key + "' not found");
        return ObjectInfo{key, std::stoll(response->header("content-length").value_or("-1")),
                          parse_http_date_ms(response->header("last-modified").value_or(""))};
    }

    void remove(const std::vector<std::string>& keys) override {
        if (keys.empty()) return;
        for (const std::string& key : keys) check_key(key);
        S3Client client(config_, host_);
        delete_objects(client, keys);
    }

    void check(Checks& checks) {
        // Where the keys come from first: every later check signs with them.
        try {
            checks.pass("credentials", "from " + config_.credentials->source([this] { return host_.cancelled(); }));
        } catch (const Error& e) {
            if (e.status() == Status::cancelled) throw;
            checks.fail("credentials", e.what(),
                        "set access_key and secret_key, or fix the source named (see the sink's README, "
                        "\"Credentials\")");
            return;
        }
        S3Client client(config_, host_);
        check_store(client, checks.probe_key(), checks);
    }

  private:
    // S3 keys are 1 to 1024 bytes of UTF-8.
    static void check_key(const std::string& key) {
        if (key.empty() || key.size() > 1024)
            throw Error(Status::fatal, "key '" + key + "' is not 1 to 1024 bytes long, as S3 requires");
    }

    Host host_;
    S3Config config_;
};

const PluginInfo kInfo{
    .name = "sink-ncloud-s3",
    .version = "0.1.0",
    .description = "Stores backups in NCloud Object Storage or any S3-compatible store (parallel multipart upload).",
    .options = option_specs(),
    .limits = option_limits(),
    .memory_min = s3::kBufferMemoryMin,
};

}  // namespace
}  // namespace backhaul::s3

BACKHAUL_PLUGIN(backhaul::s3::S3Sink, backhaul::s3::kInfo)
