// HeadObject: what stat, read and the no-overwrite checks ask about one key.
#pragma once

#include <optional>
#include <string>

#include "s3_client.hpp"

namespace backhaul::s3 {

// The HeadObject response for `key`, or nullopt when the key holds no object (404). Other failures throw S3Error.
std::optional<http::Response> head_object(S3Client& client, const std::string& key);

}  // namespace backhaul::s3
