#include "multipart_upload.hpp"

#include <algorithm>
#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>

#include "no_overwrite.hpp"
#include "object_head.hpp"
#include "part_plan.hpp"
#include "s3_xml.hpp"

namespace backhaul::s3 {
namespace {

// The ETag S3 gives a completed multipart object: MD5 of the parts' binary MD5s, "-", the number of parts.
std::string multipart_etag(const std::map<uint32_t, std::string>& part_md5s) {
    std::string binary;
    for (const auto& [number, md5] : part_md5s)
        for (size_t i = 0; i + 1 < md5.size(); i += 2)
            binary.push_back(static_cast<char>(std::stoi(md5.substr(i, 2), nullptr, 16)));
    return crypto::hex(crypto::md5(binary)) + "-" + std::to_string(part_md5s.size());
}

void check_etag(const http::Response& response, const std::string& expected_md5, const std::string& what) {
    std::optional<std::string> etag = response.header("etag");
    if (!etag) throw Error(Status::fatal, what + " failed: the response has no ETag");
    if (plain_etag(*etag) != expected_md5)
        throw Error(Status::fatal, what + " failed: the server's ETag " + *etag +
                                       " is not the MD5 of the bytes sent (" + expected_md5 + ")");
}

}  // namespace

MultipartUpload::MultipartUpload(const S3Config& config, Host host, std::string key, http::Headers headers)
    : config_(config), host_(host), key_(std::move(key)), headers_(std::move(headers)), client_(config, host) {}

MultipartUpload::~MultipartUpload() { abort(); }

void MultipartUpload::write(std::span<const uint8_t> data) {
    while (!data.empty()) {
        uint64_t target = part_size_for(config_.buffers.part_size, next_part_number_);
        if (current_.size() >= target) {
            // Only now, with more bytes to come, is the full buffer known not to be the last part.
            if (upload_id_.empty()) start_multipart();
            dispatch_current_part(true);
            continue;
        }
        if (current_.capacity() < target) current_.reserve(target);
        size_t n = static_cast<size_t>(std::min<uint64_t>(target - current_.size(), data.size()));
        current_.insert(current_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
        data = data.subspan(n);
    }
}

void MultipartUpload::commit() {
    if (finished_) throw std::logic_error("commit of a finished upload");
    if (upload_id_.empty()) {
        put_single_object();
        finished_ = true;
        return;
    }
    if (!current_.empty()) dispatch_current_part(false);
    {
        std::unique_lock lock(mutex_);
        while (buffers_in_use_ > 0 && !failure_) {
            if (host_.cancelled()) throw Error(Status::cancelled, "cancelled");
            changed_.wait_for(lock, std::chrono::milliseconds(100));
        }
    }
    rethrow_failure();
    stop_workers();
    complete();
    finished_ = true;
}

void MultipartUpload::abort() noexcept {
    if (finished_) return;
    finished_ = true;
    stop_workers();
    if (upload_id_.empty()) return;  // nothing was sent that could become visible or cost storage
    try {
        // The run is being cancelled: this request must go out anyway.
        S3Client cleanup(config_, host_, {}, true);
        S3Request request;
        request.method = "DELETE";
        request.key = key_;
        request.query = {{"uploadId", upload_id_}};
        cleanup.execute(request, operation("AbortMultipartUpload"));
        host_.debug("aborted multipart upload " + upload_id_ + " of " + client_.display(key_));
    } catch (const S3Error& e) {
        if (e.code() == "NoSuchUpload") return;  // already gone
        host_.warn(std::string(e.what()) + "; the parts of upload " + upload_id_ +
                   " keep using storage until it is aborted (aws s3api abort-multipart-upload)");
    } catch (const std::exception& e) {
        host_.warn(std::string(e.what()) + "; the parts of upload " + upload_id_ +
                   " keep using storage until it is aborted (aws s3api abort-multipart-upload)");
    }
}

void MultipartUpload::put_single_object() {
    S3Request request;
    request.method = "PUT";
    request.key = key_;
    request.headers = headers_;
    request.body = current_;
    crypto::Md5Digest md5 = crypto::md5(current_);
    request.content_md5 = crypto::base64(md5);
    check_absent(client_, key_);
    try {
        http::Response response = send_if_absent(client_, request, operation("PutObject"));
        check_etag(response, crypto::hex(md5), operation("PutObject"));
    } catch (const S3Error& e) {
        if (!is_precondition_failed(e)) throw;
        if (!written_by_lost_attempt(client_, key_, crypto::hex(md5))) throw object_exists(key_);
    }
    std::vector<uint8_t>().swap(current_);
}

void MultipartUpload::start_multipart() {
    S3Request request;
    request.method = "POST";
    request.key = key_;
    request.query = {{"uploads", ""}};
    request.headers = headers_;
    http::Response response = client_.execute(request, operation("CreateMultipartUpload"));
    std::optional<std::string> id = xml_text(response.body, "UploadId");
    if (!id || id->empty())
        throw Error(Status::fatal, operation("CreateMultipartUpload") + " failed: the response has no UploadId",
                    response.body.substr(0, 2000));
    upload_id_ = *id;
    host_.debug("started multipart upload " + upload_id_ + " of " + client_.display(key_));
    for (int i = 0; i < config_.buffers.concurrency; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void MultipartUpload::dispatch_current_part(bool take_next_buffer) {
    if (next_part_number_ > kMaxParts)
        throw Error(Status::fatal, "the stream needs more than 10,000 parts; raise part_size");
    std::unique_lock lock(mutex_);
    if (failure_) {
        lock.unlock();
        rethrow_failure();
    }
    queue_.push_back(Part{next_part_number_++, std::move(current_)});
    ++buffers_in_use_;
    changed_.notify_all();
    current_ = {};
    if (!take_next_buffer) return;
    // The buffer about to be filled counts too: at most `concurrency` buffers exist, fewer once parts have grown
    // past what the memory share holds.
    const uint32_t buffers = buffers_for(config_.buffers, part_size_for(config_.buffers.part_size, next_part_number_));
    while (buffers_in_use_ >= buffers && !failure_) {
        if (host_.cancelled()) throw Error(Status::cancelled, "cancelled");
        changed_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (failure_) {
        lock.unlock();
        rethrow_failure();
    }
    uint64_t target = part_size_for(config_.buffers.part_size, next_part_number_);
    while (!spare_.empty()) {
        std::vector<uint8_t> buffer = std::move(spare_.back());
        spare_.pop_back();
        if (buffer.capacity() >= target) {
            current_ = std::move(buffer);
            break;
        }
    }
}

void MultipartUpload::worker_loop() {
    S3Client client(config_, host_, [this] { return stop_requests_.load(); });
    while (true) {
        Part part;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return shutting_down_ || failure_ || !queue_.empty(); });
            if (shutting_down_ || failure_) return;
            part = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            upload_part(client, part);
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!failure_) failure_ = std::current_exception();
            stop_requests_ = true;
            --buffers_in_use_;
            changed_.notify_all();
            return;
        }
        std::lock_guard lock(mutex_);
        part.data.clear();
        spare_.push_back(std::move(part.data));
        --buffers_in_use_;
        changed_.notify_all();
    }
}

void MultipartUpload::upload_part(S3Client& client, Part& part) {
    S3Request request;
    request.method = "PUT";
    request.key = key_;
    request.query = {{"partNumber", std::to_string(part.number)}, {"uploadId", upload_id_}};
    request.body = part.data;
    crypto::Md5Digest md5 = crypto::md5(part.data);
    request.content_md5 = crypto::base64(md5);
    std::string what = "UploadPart " + std::to_string(part.number) + " of " + client.display(key_);
    http::Response response = client.execute(request, what);
    check_etag(response, crypto::hex(md5), what);
    std::lock_guard lock(mutex_);
    etags_[part.number] = crypto::hex(md5);
}

void MultipartUpload::complete() {
    std::string body = "<CompleteMultipartUpload>";
    for (const auto& [number, md5] : etags_)
        body += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>\"" + md5 + "\"</ETag></Part>";
    body += "</CompleteMultipartUpload>";
    S3Request request;
    request.method = "POST";
    request.key = key_;
    request.query = {{"uploadId", upload_id_}};
    request.headers = {{"content-type", "application/xml"}};
    request.body = crypto::bytes_of(body);
    std::string what = operation("CompleteMultipartUpload");
    check_absent(client_, key_);
    http::Response response;
    try {
        response = send_if_absent(client_, request, what);
        // S3 answers 200 first and may report a failure in the body afterwards.
        if (xml_root_is(response.body, "Error"))
            throw make_error(what, response, config_.region, config_.credentials->known_source());
    } catch (const S3Error& e) {
        // A retried Complete whose first attempt succeeded (but whose answer was lost) finds no upload any more, or
        // (If-None-Match) finds the object: the object with exactly our parts' ETag is the proof that it was ours.
        std::string ours = multipart_etag(etags_);
        if (is_precondition_failed(e)) {
            if (written_by_lost_attempt(client_, key_, ours)) return;
            throw object_exists(key_);
        }
        if (e.code() != "NoSuchUpload") throw;
        std::optional<http::Response> object = head_object(client_, key_);
        if (!object || plain_etag(object->header("etag").value_or("")) != ours) throw;
        return;
    }
    if (!xml_root_is(response.body, "CompleteMultipartUploadResult"))
        throw Error(Status::fatal, what + " failed: unexpected response", response.body.substr(0, 2000));
}

void MultipartUpload::stop_workers() noexcept {
    {
        std::lock_guard lock(mutex_);
        shutting_down_ = true;
        // Idle workers after a successful upload lose nothing; busy ones (abort) must stop now.
        stop_requests_ = true;
        changed_.notify_all();
    }
    for (std::thread& worker : workers_)
        if (worker.joinable()) worker.join();
    workers_.clear();
}

void MultipartUpload::rethrow_failure() {
    std::exception_ptr failure;
    {
        std::lock_guard lock(mutex_);
        failure = failure_;
    }
    if (failure) std::rethrow_exception(failure);
}

}  // namespace backhaul::s3
