#include <algorithm>
#include <backhaul/support/aws/sigv4.hpp>
#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>
#include <ctime>
#include <stdexcept>

namespace backhaul::aws {
namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

std::string encode(std::string_view text, bool keep_slash) {
    static const char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (unsigned char c : text) {
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0x0f]);
        }
    }
    return out;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// Canonical header value: leading and trailing spaces removed, inner runs of spaces collapsed to one.
std::string trim_value(std::string_view value) {
    std::string out;
    bool pending_space = false;
    for (char c : value) {
        if (c == ' ' || c == '\t') {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(c);
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string uri_encode(std::string_view text) { return encode(text, false); }
std::string uri_encode_path(std::string_view text) { return encode(text, true); }

std::string uri_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
            if (high >= 0 && low >= 0) {
                out.push_back(static_cast<char>(high * 16 + low));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

std::string canonical_query_string(const QueryParameters& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name), uri_encode(value));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty()) out.push_back('&');
        out += name + "=" + value;
    }
    return out;
}

std::string amz_date(std::chrono::system_clock::time_point time) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[17];
    std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
    return buffer;
}

Signature sign(const SignableRequest& request, const Credentials& credentials, const Scope& scope,
               std::string_view date) {
    if (date.size() != 16 || date[8] != 'T' || date[15] != 'Z')
        throw std::invalid_argument("x-amz-date '" + std::string(date) + "' is not YYYYMMDDTHHMMSSZ");
    std::string day(date.substr(0, 8));

    // Header names compare case-insensitively; repeated names are joined with ',' in the order given.
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : request.headers) {
        std::string key = lower(name);
        auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == key; });
        if (it == headers.end())
            headers.emplace_back(key, trim_value(value));
        else
            it->second += "," + trim_value(value);
    }
    std::sort(headers.begin(), headers.end());

    Signature out;
    std::string canonical_headers;
    for (const auto& [name, value] : headers) {
        canonical_headers += name + ":" + value + "\n";
        if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
        out.signed_headers += name;
    }
    out.canonical_request = request.method + "\n" + request.path + "\n" + canonical_query_string(request.query) + "\n" +
                            canonical_headers + "\n" + out.signed_headers + "\n" + request.payload_sha256;

    std::string credential_scope = day + "/" + scope.region + "/" + scope.service + "/aws4_request";
    out.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(date) + "\n" + credential_scope + "\n" +
                         crypto::hex(crypto::sha256(out.canonical_request));

    crypto::Sha256Digest key = crypto::hmac_sha256("AWS4" + credentials.secret_key, day);
    key = crypto::hmac_sha256(key, crypto::bytes_of(scope.region));
    key = crypto::hmac_sha256(key, crypto::bytes_of(scope.service));
    key = crypto::hmac_sha256(key, crypto::bytes_of("aws4_request"));
    out.signature = crypto::hex(crypto::hmac_sha256(key, crypto::bytes_of(out.string_to_sign)));
    out.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key + "/" + credential_scope +
                        ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
    return out;
}

}  // namespace backhaul::aws
