// Just enough XML for S3's flat response documents (ListBucketResult, InitiateMultipartUploadResult, Error, ...):
// find elements by tag name, decode and encode entities. Not a general parser: S3 responses have no CDATA, comments
// or same-name nesting.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backhaul::s3 {

// The raw (still entity-encoded) contents of every <tag>...</tag> or <tag/> in `xml`, in document order.
std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag);
// The decoded text of the first <tag> in `xml`, or nullopt if there is none.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag);
// The first element of `xml` (after the declaration) is <tag ...>: e.g. is this document an <Error>?
bool xml_root_is(std::string_view xml, std::string_view tag);

std::string xml_escape(std::string_view text);
std::string xml_unescape(std::string_view text);

}  // namespace backhaul::s3
