// Reads one object for restore and verify. HeadObject first (size and ETag); an object of at most one part_size is one
// GetObject, a larger one is fetched as part_size ranges by `concurrency - 1` worker threads (at least 1), a window of
// that many ranges ahead of the one being read (memory about concurrency x part_size, as an upload holds), each range
// pinned to the ETag seen first (If-Match) so an object replaced mid-restore fails instead of mixing two versions.
#pragma once

#include <atomic>
#include <backhaul/sdk.hpp>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3_client.hpp"

namespace backhaul::s3 {

class ObjectReader final : public backhaul::ObjectReader {
  public:
    ObjectReader(const S3Config& config, Host host, std::string key);
    ~ObjectReader() override;

    size_t read(std::span<uint8_t> buffer) override;

  private:
    void worker_loop();
    // Range `index`, read into `buffer`'s memory.
    std::string fetch_range(S3Client& client, uint64_t index, std::string buffer);

    const S3Config& config_;
    Host host_;
    std::string key_;
    S3Client client_;
    uint64_t size_ = 0;
    std::string etag_;
    uint64_t range_size_ = 0;
    uint64_t range_count_ = 0;
    // Ranges fetched ahead of the one being read: `concurrency` buffers in all, besides it.
    uint64_t window_ = 0;

    std::string current_;  // the range being handed out
    size_t current_offset_ = 0;
    uint64_t next_to_read_ = 0;  // index of the range after current_

    std::mutex mutex_;
    std::condition_variable changed_;
    uint64_t next_to_fetch_ = 0;
    std::map<uint64_t, std::string> fetched_;
    // Buffers of ranges already handed out, for the workers to fill again: the reader allocates `concurrency`
    // buffers once instead of one per range (http::Request::body_buffer says why that matters).
    std::vector<std::string> spare_;
    std::exception_ptr failure_;
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> workers_;
};

}  // namespace backhaul::s3
