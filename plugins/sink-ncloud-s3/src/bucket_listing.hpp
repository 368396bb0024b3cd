// ListObjects version 1 with marker pagination (NCloud's classic Object Storage documents V2 as unsupported; V1 works
// everywhere), keys URL-encoded by the server (encoding-type=url) so any key survives XML.
#pragma once

#include <backhaul/sdk.hpp>
#include <string>
#include <vector>

#include "s3_client.hpp"

namespace backhaul::s3 {

struct ListPage {
    std::vector<ObjectInfo> objects;
    bool truncated = false;
    std::string next_marker;  // NextMarker, or else the last key: where the next page starts
};

// Parses one ListBucketResult document.
ListPage parse_list_page(const std::string& xml);

// Calls `emit` for every object whose key starts with `prefix`, page by page, until it returns false.
void list_objects(S3Client& client, const std::string& prefix, const Sink::ListSink& emit);

// ISO 8601 "2026-05-01T03:00:00.000Z" and RFC 1123 "Fri, 01 May 2026 03:00:00 GMT" to Unix milliseconds; 0 if
// unparsable.
int64_t parse_iso8601_ms(const std::string& text);
int64_t parse_http_date_ms(const std::string& text);

}  // namespace backhaul::s3
