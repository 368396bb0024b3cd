// Fuzz target: bytes as an S3 response body through every parser sink-ncloud-s3 applies to one. A server (or a proxy
// in between) controls these bytes completely, so none of them may crash the sink, and a malformed document must be
// an error, never a wrong answer. The first byte picks which response the body stands for, as the sink would only
// parse the matching one; all of them are also run through the shared XML helpers.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bucket_listing.hpp"
#include "fuzz_check.hpp"
#include "s3_error.hpp"
#include "s3_xml.hpp"

namespace {

using namespace backhaul;
using namespace backhaul::s3;

void parse_listing(const std::string& body) {
    // A truncated page without a usable marker is list_objects' to refuse (it checks for an empty or repeated one).
    try {
        ListPage page = parse_list_page(body);
        if (!page.truncated && !page.objects.empty() && page.next_marker != page.objects.back().key &&
            body.find("NextMarker") == std::string::npos)
            fuzz_fail("the next marker of a listing without NextMarker is not its last key");
    } catch (const Error&) {
    }
}

void parse_error(const std::string& body, long status) {
    S3ErrorBody parsed = parse_error_body(body);
    if (!xml_root_is(body, "Error") && !parsed.code.empty()) fuzz_fail("error code read from a non-<Error> body");
    http::Response response;
    response.status = status;
    response.body = body;
    S3Error error = make_error("PutObject s3://bucket/key", response, "us-east-1");
    if (error.code().empty()) fuzz_fail("S3Error without a code");
    // The core makes every error one line, whatever a plugin sends (a newline from the server cannot forge log lines
    // there). What is the sink's own: it adds no line break to what the server said, so every one in the error came
    // from the server's Code or Message as parsed. (Not "the body has no newline": the server may also write one as
    // "&#10;", which the XML parser rightly decodes.) what() is a C string: the server's text ends at its first NUL.
    const auto line_breaks = [](std::string_view text) {
        return std::count_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; });
    };
    std::string from_server = parsed.code + parsed.message;
    from_server.resize(std::min(from_server.size(), from_server.find('\0')));
    if (line_breaks(error.what()) != line_breaks(from_server))
        fuzz_fail("the error has line breaks the server's Code and Message do not: " + std::string(error.what()));
}

void parse_multipart(const std::string& body) {
    // InitiateMultipartUpload: the sink needs the UploadId; CompleteMultipartUpload: the root tells success.
    (void)xml_text(body, "UploadId");
    (void)xml_root_is(body, "CompleteMultipartUploadResult");
    // DeleteObjects: one <Error> per key that failed.
    for (std::string_view failed : xml_elements(body, "Error")) {
        (void)xml_text(failed, "Code");
        (void)xml_text(failed, "Key");
        (void)xml_text(failed, "Message");
    }
}

void check_escaping(std::string_view text) {
    const std::string escaped = xml_escape(text);
    if (escaped.find('<') != std::string::npos || escaped.find('>') != std::string::npos)
        fuzz_fail("xml_escape left markup in its output");
    if (xml_unescape(escaped) != text) fuzz_fail("xml_unescape(xml_escape(text)) != text");
    (void)xml_unescape(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0:
            parse_listing(body);
            break;
        case 1:
            parse_error(body, 400 + data[0] % 104);
            break;
        case 2:
            parse_multipart(body);
            break;
        case 3:
            (void)parse_iso8601_ms(body);
            (void)parse_http_date_ms(body);
            break;
    }
    check_escaping(body);
    return 0;
}
