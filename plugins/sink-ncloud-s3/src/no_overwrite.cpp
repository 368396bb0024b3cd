#include "no_overwrite.hpp"

#include <algorithm>

#include "object_head.hpp"
#include "s3_xml.hpp"

namespace backhaul::s3 {

Error object_exists(const std::string& key) {
    return Error(Status::fatal, "object '" + key + "' already exists; not overwritten");
}

void check_absent(S3Client& client, const std::string& key) {
    if (client.config().conditional_writes == ConditionalWrites::header) return;
    if (head_object(client, key)) throw object_exists(key);
}

http::Response send_if_absent(S3Client& client, S3Request request, const std::string& operation) {
    ConditionalWrites mode = client.config().conditional_writes;
    if (mode == ConditionalWrites::check || client.conditional_refused(operation))
        return client.execute(request, operation);
    S3Request conditional = request;
    conditional.headers.emplace_back("if-none-match", "*");
    try {
        return client.execute(conditional, operation);
    } catch (const S3Error& e) {
        if (e.http_status() != 501) throw;
        if (mode == ConditionalWrites::header)
            throw S3Error(e.status(),
                          std::string(e.what()) +
                              "; this store does not support If-None-Match here: set "
                              "conditional_writes = \"auto\"",
                          e.detail(), e.http_status(), e.code());
    }
    client.refuse_conditional(operation);
    client.host().debug(operation + ": the store does not support If-None-Match; relying on the HeadObject check");
    return client.execute(request, operation);
}

bool is_precondition_failed(const S3Error& error) {
    if (error.http_status() == 412 || error.code() == "PreconditionFailed") return true;
    return error.code() == "InvalidRequest" && xml_text(error.detail(), "Status").value_or("").starts_with("412");
}

bool written_by_lost_attempt(S3Client& client, const std::string& key, const std::string& our_etag) {
    if (client.attempts() < 2) return false;
    std::optional<http::Response> head = head_object(client, key);
    return head && plain_etag(head->header("etag").value_or("")) == our_etag;
}

std::string plain_etag(std::string etag) {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    std::transform(etag.begin(), etag.end(), etag.begin(), [](unsigned char c) { return std::tolower(c); });
    return etag;
}

}  // namespace backhaul::s3
