#include "object_deletion.hpp"

#include <backhaul/support/crypto/digest.hpp>

#include "s3_xml.hpp"

namespace backhaul::s3 {

std::string delete_request_body(const std::vector<std::string>& keys, size_t first, size_t count) {
    std::string body = "<Delete><Quiet>true</Quiet>";
    for (size_t i = first; i < first + count; ++i) body += "<Object><Key>" + xml_escape(keys[i]) + "</Key></Object>";
    return body + "</Delete>";
}

void delete_objects(S3Client& client, const std::vector<std::string>& keys) {
    if (keys.size() == 1) {
        S3Request request;
        request.method = "DELETE";
        request.key = keys.front();
        try {
            client.execute(request, "DeleteObject " + client.display(keys.front()));
        } catch (const S3Error& e) {
            if (e.http_status() != 404) throw;
        }
        return;
    }
    for (size_t first = 0; first < keys.size(); first += kMaxKeysPerDelete) {
        size_t count = std::min(kMaxKeysPerDelete, keys.size() - first);
        std::string body = delete_request_body(keys, first, count);
        S3Request request;
        request.method = "POST";
        request.query = {{"delete", ""}};
        request.headers = {{"content-type", "application/xml"}};
        request.body = crypto::bytes_of(body);
        std::string what = "DeleteObjects s3://" + client.config().bucket + " (" + std::to_string(count) + " keys)";
        http::Response response = client.execute(request, what);
        if (xml_root_is(response.body, "Error"))
            throw make_error(what, response, client.config().region, client.config().credentials->known_source());
        for (std::string_view error : xml_elements(response.body, "Error")) {
            std::string code = xml_text(error, "Code").value_or("");
            if (code == "NoSuchKey") continue;
            throw Error(Status::fatal, what + " failed for '" + xml_text(error, "Key").value_or("") + "': " + code +
                                           ": " + xml_text(error, "Message").value_or(""));
        }
    }
}

}  // namespace backhaul::s3
