#include "object_reader.hpp"

#include <algorithm>
#include <cstring>

#include "object_head.hpp"

namespace backhaul::s3 {

ObjectReader::ObjectReader(const S3Config& config, Host host, std::string key)
    : config_(config), host_(host), key_(std::move(key)), client_(config, host, [this] { return stopping_.load(); }) {
    std::optional<http::Response> response = head_object(client_, key_);
    if (!response) throw Error(Status::fatal, "object '" + key_ + "' not found");
    size_ = std::stoull(response->header("content-length").value_or("0"));
    etag_ = response->header("etag").value_or("");
    range_size_ = config_.buffers.part_size;
    range_count_ = (size_ + range_size_ - 1) / range_size_;
    window_ = std::max<uint64_t>(1, static_cast<uint64_t>(config_.buffers.concurrency) - 1);
    // One range needs no helpers; more get a thread per range of the window.
    if (range_count_ > 1) {
        const uint64_t threads = std::min(window_, range_count_);
        for (uint64_t i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
    }
}

ObjectReader::~ObjectReader() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        changed_.notify_all();
    }
    for (std::thread& worker : workers_) worker.join();
}

size_t ObjectReader::read(std::span<uint8_t> buffer) {
    while (current_offset_ >= current_.size()) {
        if (next_to_read_ >= range_count_) return 0;
        if (workers_.empty()) {
            current_ = fetch_range(client_, next_to_read_, std::move(current_));
        } else {
            std::unique_lock lock(mutex_);
            while (!fetched_.count(next_to_read_) && !failure_) {
                if (host_.cancelled()) throw Error(Status::cancelled, "cancelled");
                changed_.wait_for(lock, std::chrono::milliseconds(100));
            }
            if (failure_) std::rethrow_exception(failure_);
            if (!current_.empty()) spare_.push_back(std::move(current_));
            current_ = std::move(fetched_[next_to_read_]);
            fetched_.erase(next_to_read_);
            changed_.notify_all();  // the window moved: a worker may fetch the next range
        }
        ++next_to_read_;
        current_offset_ = 0;
    }
    size_t n = std::min(buffer.size(), current_.size() - current_offset_);
    std::memcpy(buffer.data(), current_.data() + current_offset_, n);
    current_offset_ += n;
    return n;
}

void ObjectReader::worker_loop() {
    S3Client client(config_, host_, [this] { return stopping_.load(); });
    while (true) {
        uint64_t index = 0;
        std::string buffer;
        {
            std::unique_lock lock(mutex_);
            // Stay at most window_ ranges ahead of the reader.
            changed_.wait(lock, [&] {
                return stopping_ || failure_ || next_to_fetch_ >= range_count_ ||
                       next_to_fetch_ < next_to_read_ + window_;
            });
            if (stopping_ || failure_ || next_to_fetch_ >= range_count_) return;
            index = next_to_fetch_++;
            if (!spare_.empty()) {
                buffer = std::move(spare_.back());
                spare_.pop_back();
            }
        }
        try {
            std::string data = fetch_range(client, index, std::move(buffer));
            std::lock_guard lock(mutex_);
            fetched_[index] = std::move(data);
            changed_.notify_all();
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!failure_) failure_ = std::current_exception();
            stopping_ = true;
            changed_.notify_all();
            return;
        }
    }
}

std::string ObjectReader::fetch_range(S3Client& client, uint64_t index, std::string buffer) {
    uint64_t first = index * range_size_;
    uint64_t last = std::min(size_, first + range_size_) - 1;
    S3Request request;
    request.key = key_;
    if (range_count_ > 1)
        request.headers.emplace_back("range", "bytes=" + std::to_string(first) + "-" + std::to_string(last));
    if (!etag_.empty()) request.headers.emplace_back("if-match", etag_);
    request.max_body_bytes = last - first + 1;
    request.body_buffer = &buffer;
    std::string what = "GetObject " + client.display(key_);
    http::Response response;
    try {
        response = client.execute(request, what);
    } catch (const S3Error& e) {
        if (e.http_status() == 412) throw Error(Status::fatal, "object '" + key_ + "' changed while it was being read");
        if (e.http_status() == 404) throw Error(Status::fatal, "object '" + key_ + "' not found");
        throw;
    }
    if (response.body.size() != last - first + 1)
        throw Error(Status::retryable, what + " failed: got " + std::to_string(response.body.size()) +
                                           " bytes of range " + std::to_string(first) + "-" + std::to_string(last));
    return std::move(response.body);
}

}  // namespace backhaul::s3
