// `backhaul check` for S3: the calls a backup, list, verify and prune make, each proved once with a key that no backup
// can have, each failure naming the permission that is missing. The host then stores, reads, stats, lists and deletes
// its own probe object under the same key (PutObject, GetObject, HeadObject, ListObjects, DeleteObject).
#pragma once

#include <backhaul/sdk.hpp>
#include <string>

#include "s3_client.hpp"

namespace backhaul::s3 {

// `probe_key` ("" if the host gave none): where the multipart probe may create an upload, which it always aborts.
void check_store(S3Client& client, const std::string& probe_key, Checks& checks);

}  // namespace backhaul::s3
