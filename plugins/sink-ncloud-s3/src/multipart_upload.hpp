// One object being written. Bytes collect in a part buffer; an object that ends within the first part is one
// PutObject at commit. Past the first part it becomes a multipart upload: CreateMultipartUpload, then full parts go to
// `concurrency` worker threads (each with its own connection) while the stream goes on filling the next buffer. At
// most `concurrency` part buffers exist at once, so memory stays near concurrency x part_size whatever the stream's
// length. CompleteMultipartUpload happens only in commit(); abort(), a failure, or a cancellation sends
// AbortMultipartUpload, so no upload is ever left pending. Neither commit replaces an existing object
// (no_overwrite.hpp).
#pragma once

#include <atomic>
#include <backhaul/sdk.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3_client.hpp"

namespace backhaul::s3 {

class MultipartUpload final : public Upload {
  public:
    // `headers`: object headers sent on PutObject / CreateMultipartUpload (content type, metadata, storage class).
    MultipartUpload(const S3Config& config, Host host, std::string key, http::Headers headers);
    ~MultipartUpload() override;

    void write(std::span<const uint8_t> data) override;
    void commit() override;
    void abort() noexcept override;

  private:
    struct Part {
        uint32_t number = 0;
        std::vector<uint8_t> data;
    };

    void put_single_object();
    void start_multipart();
    void dispatch_current_part(bool take_next_buffer);
    void worker_loop();
    void upload_part(S3Client& client, Part& part);
    void complete();
    void stop_workers() noexcept;
    void rethrow_failure();
    std::string operation(const std::string& name) const { return name + " " + client_.display(key_); }

    const S3Config& config_;
    Host host_;
    std::string key_;
    http::Headers headers_;
    S3Client client_;  // the stream thread's connection: PutObject, Create/Complete/AbortMultipartUpload

    std::vector<uint8_t> current_;  // the part being filled
    uint32_t next_part_number_ = 1;
    std::string upload_id_;  // "" until the multipart upload exists

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Part> queue_;                   // full parts waiting for a worker
    std::vector<std::vector<uint8_t>> spare_;  // emptied buffers, reused to avoid page faults
    uint32_t buffers_in_use_ = 0;              // queued or uploading
    std::map<uint32_t, std::string> etags_;    // part number -> hex MD5 = ETag, for CompleteMultipartUpload
    std::exception_ptr failure_;               // the first worker failure
    bool shutting_down_ = false;
    std::atomic<bool> stop_requests_{false};  // stops the workers' requests at once (failure or abort)
    std::vector<std::thread> workers_;
    bool finished_ = false;  // committed or aborted
};

}  // namespace backhaul::s3
