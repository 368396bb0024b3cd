#include "object_head.hpp"

namespace backhaul::s3 {

std::optional<http::Response> head_object(S3Client& client, const std::string& key) {
    S3Request head;
    head.method = "HEAD";
    head.key = key;
    try {
        return client.execute(head, "HeadObject " + client.display(key));
    } catch (const S3Error& e) {
        if (e.http_status() == 404) return std::nullopt;
        throw;
    }
}

}  // namespace backhaul::s3
