// A run never replaces an object under its key (option `conditional_writes`). Two defences, because no single one
// works on every store: a HeadObject before the upload starts and again just before the committing request (every
// store answers it, but a writer can slip in between), and `If-None-Match: *` on that request (atomic where the store
// honours it: AWS S3 since 2024, and Swift's s3api on CompleteMultipartUpload; Swift 2.30 refuses it on PutObject
// with 501, and a store may ignore an unknown header, as NCloud documents for headers it does not list).
#pragma once

#include <backhaul/sdk.hpp>
#include <string>

#include "s3_client.hpp"

namespace backhaul::s3 {

// "object '<key>' already exists; not overwritten"
Error object_exists(const std::string& key);

// HeadObject of `key` unless conditional_writes = "header"; throws object_exists when it holds an object.
void check_absent(S3Client& client, const std::string& key);

// Sends the committing request (PutObject, CompleteMultipartUpload) with If-None-Match: * unless conditional_writes =
// "check". With "auto", a store that answers the header with 501 Not Implemented gets the request again without it:
// check_absent just ran, and a 501 stored nothing.
http::Response send_if_absent(S3Client& client, S3Request request, const std::string& operation);

// Whether a failed committing request says the key already holds an object: HTTP 412 (AWS), or Swift's
// CompleteMultipartUpload answer <Code>InvalidRequest</Code> with <Status>412 Precondition Failed</Status>.
bool is_precondition_failed(const S3Error& error);

// After a precondition failure: whether the object under `key` is the one an earlier attempt of that same request
// wrote before its answer was lost (the request was retried and the object's ETag is `our_etag`).
bool written_by_lost_attempt(S3Client& client, const std::string& key, const std::string& our_etag);

// An ETag without its quotes, in lower case.
std::string plain_etag(std::string etag);

}  // namespace backhaul::s3
