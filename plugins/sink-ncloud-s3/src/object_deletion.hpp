// Deleting objects: DeleteObject for one key, DeleteObjects (POST ?delete, with the Content-MD5 that NCloud and AWS
// require) in batches of at most 1,000 for more. A key that does not exist is not an error.
#pragma once

#include <string>
#include <vector>

#include "s3_client.hpp"

namespace backhaul::s3 {

constexpr size_t kMaxKeysPerDelete = 1000;

// The <Delete> request body for `keys` (quiet mode: only failures are reported).
std::string delete_request_body(const std::vector<std::string>& keys, size_t first, size_t count);

void delete_objects(S3Client& client, const std::vector<std::string>& keys);

}  // namespace backhaul::s3
