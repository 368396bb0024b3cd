#include "bucket_listing.hpp"

#include <charconv>
#include <ctime>
#include <stdexcept>

#include "s3_xml.hpp"

namespace backhaul::s3 {
namespace {

// encoding-type=url percent-encodes keys and may write a space as '+' (botocore decodes the same way).
std::string url_decode_key(const std::string& text) {
    std::string plus_as_space = text;
    for (char& c : plus_as_space)
        if (c == '+') c = ' ';
    return aws::uri_decode(plus_as_space);
}

}  // namespace

int64_t parse_iso8601_ms(const std::string& text) {
    std::tm tm{};
    const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return 0;
    int64_t ms = 0;
    if (*rest == '.') {
        int digits = 0;
        for (++rest; *rest >= '0' && *rest <= '9'; ++rest)
            if (digits++ < 3) ms = ms * 10 + (*rest - '0');
        for (; digits < 3; ++digits) ms *= 10;
    }
    return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

int64_t parse_http_date_ms(const std::string& text) {
    std::tm tm{};
    if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return 0;
    return static_cast<int64_t>(timegm(&tm)) * 1000;
}

ListPage parse_list_page(const std::string& xml) {
    ListPage page;
    bool url_encoded = xml_text(xml, "EncodingType").value_or("") == "url";
    auto decode = [&](const std::string& text) { return url_encoded ? url_decode_key(text) : text; };
    for (std::string_view contents : xml_elements(xml, "Contents")) {
        ObjectInfo object;
        object.key = decode(xml_text(contents, "Key").value_or(""));
        std::string size = xml_text(contents, "Size").value_or("-1");
        // A listing is untrusted input: a size that is not a decimal int64 is a malformed response, not a crash.
        int64_t parsed = -1;
        if (!size.empty()) {
            auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), parsed);
            if (ec != std::errc() || end != size.data() + size.size() || parsed < 0)
                throw Error(Status::fatal,
                            "malformed ListObjects response: <Size> '" + size.substr(0, 32) + "' is not a byte count");
        }
        object.size = parsed;
        object.mtime_unix_ms = parse_iso8601_ms(xml_text(contents, "LastModified").value_or(""));
        page.objects.push_back(std::move(object));
    }
    page.truncated = xml_text(xml, "IsTruncated").value_or("false") == "true";
    std::string next = xml_text(xml, "NextMarker").value_or("");
    page.next_marker = !next.empty() ? decode(next) : page.objects.empty() ? "" : page.objects.back().key;
    return page;
}

void list_objects(S3Client& client, const std::string& prefix, const Sink::ListSink& emit) {
    std::string marker;
    while (true) {
        S3Request request;
        request.query = {
            {"encoding-type", "url"}, {"max-keys", std::to_string(client.config().list_page_size)}, {"prefix", prefix}};
        if (!marker.empty()) request.query.emplace_back("marker", marker);
        http::Response response = client.execute(request, "ListObjects s3://" + client.config().bucket + "/" + prefix);
        ListPage page = parse_list_page(response.body);
        for (const ObjectInfo& object : page.objects)
            if (object.key.starts_with(prefix) && !emit(object)) return;
        if (!page.truncated) return;
        if (page.next_marker.empty() || page.next_marker == marker)
            throw Error(Status::fatal, "ListObjects s3://" + client.config().bucket +
                                           " failed: the server said the listing is truncated but gave no next marker");
        marker = page.next_marker;
    }
}

}  // namespace backhaul::s3
