#include "store_check.hpp"

#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>
#include <vector>

#include "s3_xml.hpp"

namespace backhaul::s3 {
namespace {

// What to do about a failed request, by what S3 said; the message already names the request.
std::string fix_for(const std::exception& failure, const S3Client& client, const std::string& purpose) {
    const S3Config& config = client.config();
    const auto* error = dynamic_cast<const S3Error*>(&failure);
    if (!error)
        return "check endpoint '" + config.endpoint_text + "' and that this host can reach it (DNS, firewall, proxy)";
    const std::string& code = error->code();
    const std::string source = config.credentials->known_source();
    if (code == "SignatureDoesNotMatch" && (source.empty() || source == aws::kOptionsSource))
        return "check secret_key, and that access_key belongs to it";
    if (std::string hint = credentials_hint(code, source); !hint.empty()) return hint;
    if (code == "NoSuchBucket") return "create bucket '" + config.bucket + "', or correct 'bucket' and 'endpoint'";
    if (code == "AuthorizationHeaderMalformed" || code == "IllegalLocationConstraintException" ||
        code == "PermanentRedirect")
        return "set 'region' to the region of endpoint '" + config.endpoint_text + "'";
    if (code == "RequestTimeTooSkewed") return "synchronise this machine's clock (NTP)";
    if (code == "AccessDenied" || code == "Forbidden") return "grant the key the permission: " + purpose;
    return "";
}

// Whether a failure of the first request means every later one would fail the same way.
bool blocks_everything(const std::exception& failure) {
    const auto* error = dynamic_cast<const S3Error*>(&failure);
    return !error || (error->code() != "AccessDenied" && error->code() != "Forbidden");
}

}  // namespace

void check_store(S3Client& client, const std::string& probe_key, Checks& checks) {
    const S3Config& config = client.config();
    const std::string bucket = "s3://" + config.bucket;
    const std::string where = config.endpoint_text + " (region " + config.region + ")";

    // One short ListObjects: endpoint, bucket, signature, region and s3:ListBucket in one request.
    S3Request list;
    list.query = {{"encoding-type", "url"}, {"max-keys", "1"}, {"prefix", probe_key}};
    const std::string list_name = "list " + bucket + " at " + where;
    try {
        client.execute(list, "ListObjects " + bucket + "/" + probe_key);
        checks.pass(list_name, "the bucket exists, the key signs and the region is right");
    } catch (const Error& e) {
        if (e.status() == Status::cancelled) throw;
        checks.fail(list_name, e.what(),
                    fix_for(e, client, "s3:ListBucket on " + bucket + " (list, verify --latest and prune list)"));
        if (blocks_everything(e)) return;
    }
    if (probe_key.empty()) return;

    // A backup longer than part_size is a multipart upload; a failed one must be aborted. Proved with one tiny part
    // that is never completed, so no object appears.
    const std::string target = client.display(probe_key);
    const std::string multipart_name = "multipart upload to " + target + " (create, upload a part, abort)";
    std::string upload_id;
    bool uploaded = false;
    try {
        S3Request create;
        create.method = "POST";
        create.key = probe_key;
        create.query = {{"uploads", ""}};
        create.headers = {{"content-type", "application/octet-stream"}};
        http::Response created = client.execute(create, "CreateMultipartUpload " + target);
        upload_id = xml_text(created.body, "UploadId").value_or("");
        if (upload_id.empty())
            throw Error(Status::fatal, "CreateMultipartUpload " + target + ": no UploadId in the answer");

        const std::string body = "backhaul check multipart probe\n";
        S3Request part;
        part.method = "PUT";
        part.key = probe_key;
        part.query = {{"partNumber", "1"}, {"uploadId", upload_id}};
        part.body = crypto::bytes_of(body);
        client.execute(part, "UploadPart 1 of " + target);
        uploaded = true;
    } catch (const Error& e) {
        if (e.status() == Status::cancelled && upload_id.empty()) throw;
        checks.fail(multipart_name, e.what(),
                    fix_for(e, client, "s3:PutObject on " + bucket + "/* (every backup writes)"));
        if (upload_id.empty()) return;
    }

    S3Client cleanup(config, client.host(), {}, true);  // sent even when interrupted: the upload must not stay
    S3Request abort;
    abort.method = "DELETE";
    abort.key = probe_key;
    abort.query = {{"uploadId", upload_id}};
    try {
        cleanup.execute(abort, "AbortMultipartUpload " + target);
    } catch (const Error& e) {
        checks.fail(
            "abort the multipart upload " + upload_id, e.what(),
            fix_for(e, client,
                    "s3:AbortMultipartUpload on " + bucket + "/* (a failed backup's parts are removed with it)") +
                "; then remove this one: aws s3api abort-multipart-upload --bucket " + config.bucket + " --key '" +
                probe_key + "' --upload-id " + upload_id);
        return;
    }
    if (uploaded)
        checks.pass(multipart_name,
                    "backups larger than part_size can be stored, and a failed one "
                    "cleaned up");
}

}  // namespace backhaul::s3
