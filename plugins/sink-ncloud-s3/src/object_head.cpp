#include "object_head.hpp"

namespace backhaul::s3 {

std::optional<http::Response> head_object(S3Client& client, const std::string& key) {
    const std::string operation = "HeadObject " + client.display(key);
    S3Request head;
    head.method = "HEAD";
    head.key = key;
    try {
        return client.execute(head, operation);
    } catch (const S3Error& e) {
        if (e.http_status() == 404) return std::nullopt;
        if (e.http_status() != 403) throw;
        // A HEAD answer has no body, so a wrong secret and a missing permission are the same bare 403. A GET of the
        // first byte fails the same way with S3's code (SignatureDoesNotMatch, AccessDenied, ...) and its hint.
        S3Request first_byte;
        first_byte.key = key;
        first_byte.headers = {{"range", "bytes=0-0"}};
        client.execute(first_byte, operation);
        throw;
    }
}

}  // namespace backhaul::s3
