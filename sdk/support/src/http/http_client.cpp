#include <curl/curl.h>

#include <algorithm>
#include <backhaul/sdk.hpp>
#include <backhaul/support/http/http_client.hpp>
#include <cctype>
#include <charconv>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace backhaul::http {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("libcurl failed to start");
    });
}

TransportError::Kind kind_of(CURLcode code) {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
            return TransportError::Kind::connect;
        case CURLE_OPERATION_TIMEDOUT:
            return TransportError::Kind::timeout;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_HTTP3:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_SEND_FAIL_REWIND:
            return TransportError::Kind::transfer;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
            return TransportError::Kind::tls;
        default:
            return TransportError::Kind::other;
    }
}

// The state one transfer's callbacks see.
struct Transfer {
    const Request* request = nullptr;
    Response* response = nullptr;
    size_t sent = 0;
    bool body_aborted = false;
    bool body_too_large = false;
};

size_t read_body(char* buffer, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::span<const uint8_t> body = t->request->body;
    size_t n = std::min(size * count, body.size() - t->sent);
    std::memcpy(buffer, body.data() + t->sent, n);
    t->sent += n;
    return n;
}

// libcurl rewinds the body when it must send it again on the same request (a redirect or auth retry).
int seek_body(void* user, curl_off_t offset, int origin) {
    auto* t = static_cast<Transfer*>(user);
    if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->request->body.size())
        return CURL_SEEKFUNC_CANTSEEK;
    t->sent = static_cast<size_t>(offset);
    return CURL_SEEKFUNC_OK;
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    if (t->request->on_body) {
        if (!t->request->on_body(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), n))) {
            t->body_aborted = true;
            return CURL_WRITEFUNC_ERROR;
        }
    } else {
        if (n > t->request->max_body_bytes - t->response->body.size()) {
            t->body_too_large = true;
            return CURL_WRITEFUNC_ERROR;
        }
        // A body of announced size (a ranged GET of a part) gets its memory once: growing by doubling would hold up
        // to twice the body while copying it, on every worker at once.
        if (t->response->body.empty()) {
            uint64_t announced = 0;
            const std::optional<std::string> length = t->response->header("content-length");
            if (length &&
                std::from_chars(length->data(), length->data() + length->size(), announced).ec == std::errc() &&
                announced <= t->request->max_body_bytes)
                t->response->body.reserve(static_cast<size_t>(announced));
        }
        t->response->body.append(data, n);
    }
    return n;
}

size_t read_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
        // A new status line (after "100 Continue" or a redirect): the headers so far belonged to another response.
        t->response->headers.clear();
        return n;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    t->response->headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
    return n;
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
    std::string key = lower(name);
    for (const auto& [n, v] : headers)
        if (n == key) return v;
    return std::nullopt;
}

struct Client::Handles {
    CURLM* multi = nullptr;
    CURL* easy = nullptr;
    ~Handles() {
        if (easy) curl_easy_cleanup(easy);
        if (multi) curl_multi_cleanup(multi);
    }
};

Client::Client(ClientOptions options) : options_(std::move(options)), handles_(std::make_unique<Handles>()) {
    global_init();
    handles_->multi = curl_multi_init();
    handles_->easy = curl_easy_init();
    if (!handles_->multi || !handles_->easy) throw std::runtime_error("libcurl could not create a handle");
}

Client::~Client() = default;

Result Client::perform(const Request& request) {
    CURL* easy = handles_->easy;
    // Reset keeps the connection cache (of the multi handle), the DNS cache and TLS sessions: keep-alive reuse.
    curl_easy_reset(easy);
    Result result;
    if (request.body_buffer) {
        result.response.body = std::move(*request.body_buffer);
        result.response.body.clear();
        request.body_buffer->clear();
    }
    Transfer transfer{&request, &result.response, 0, false, false};
    char error_text[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    if (options_.stall_timeout.count() > 0) {
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
                         std::max(1L, static_cast<long>(options_.stall_timeout.count() / 1000)));
    }
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &read_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &write_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);

    bool has_body = !request.body.empty() || request.method == "PUT" || request.method == "POST";
    if (request.method == "HEAD") {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
        curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(easy, CURLOPT_READFUNCTION, &read_body);
        curl_easy_setopt(easy, CURLOPT_READDATA, &transfer);
        curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, &seek_body);
        curl_easy_setopt(easy, CURLOPT_SEEKDATA, &transfer);
        if (request.method != "PUT") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else if (request.method != "GET") {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    curl_slist* header_list = nullptr;
    for (const auto& [name, value] : request.headers)
        header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
    // No "Expect: 100-continue" round trip: signed requests fail on their first, bodiless, request anyway.
    header_list = curl_slist_append(header_list, "Expect:");
    header_list = curl_slist_append(header_list, "Accept:");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);

    CURLM* multi = handles_->multi;
    curl_multi_add_handle(multi, easy);
    bool cancelled = false;
    int running = 1;
    while (running > 0) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) break;
        if (running == 0) break;
        if (options_.cancelled && options_.cancelled()) {
            cancelled = true;
            break;
        }
        curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    CURLcode code = CURLE_OK;
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left))
        if (message->msg == CURLMSG_DONE && message->easy_handle == easy) code = message->data.result;
    curl_multi_remove_handle(multi, easy);
    curl_slist_free_all(header_list);

    if (cancelled) {
        result.error = TransportError{TransportError::Kind::cancelled, "cancelled"};
    } else if (transfer.body_too_large) {
        result.error =
            TransportError{TransportError::Kind::too_large, "the response body exceeds the limit of " +
                                                                std::to_string(request.max_body_bytes) + " bytes"};
    } else if (transfer.body_aborted) {
        result.error = TransportError{TransportError::Kind::aborted, "response body consumer stopped the transfer"};
    } else if (code != CURLE_OK) {
        result.error = TransportError{kind_of(code), error_text[0] ? error_text : curl_easy_strerror(code)};
    } else {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.response.status);
    }
    return result;
}

std::optional<Url> parse_url(std::string_view text) {
    size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
    Url url;
    url.scheme = lower(text.substr(0, scheme_end));
    std::string_view rest = text.substr(scheme_end + 3);
    size_t authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view tail = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    if (tail.find_first_of("?#") != std::string_view::npos) return std::nullopt;
    url.path = std::string(tail);
    std::string_view port;
    if (authority.front() == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        url.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port = after.substr(1);
        }
    } else {
        size_t colon = authority.rfind(':');
        url.host = lower(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (url.host.empty()) return std::nullopt;
    if (!port.empty()) {
        int value = 0;
        for (char c : port) {
            if (c < '0' || c > '9' || value > 65535) return std::nullopt;
            value = value * 10 + (c - '0');
        }
        if (value <= 0 || value > 65535) return std::nullopt;
        url.port = value;
    }
    return url;
}

std::string host_header(const Url& url) {
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    bool default_port =
        url.port == 0 || (url.scheme == "http" && url.port == 80) || (url.scheme == "https" && url.port == 443);
    return default_port ? host : host + ":" + std::to_string(url.port);
}

bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || host == "::1") return true;
    // 127.0.0.0/8 written as a dotted quad.
    if (!host.starts_with("127.")) return false;
    int dots = 0;
    for (char c : host) {
        if (c == '.')
            ++dots;
        else if (c < '0' || c > '9')
            return false;
    }
    return dots == 3;
}

namespace {

// A DNS name (labels of letters, digits, '-' and '_', which container networks use) or an IPv4 literal; IPv6 literals
// arrive without brackets and are hex digits, ':' and dots.
bool valid_host(std::string_view host) {
    if (host.find(':') != std::string_view::npos)
        return std::all_of(host.begin(), host.end(),
                           [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
    if (host.size() > 253 || host.front() == '.' || host.back() == '.' || host.find("..") != std::string_view::npos)
        return false;
    return std::all_of(host.begin(), host.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::optional<std::string> http_url_problem(std::string_view text, bool insecure_http) {
    std::optional<Url> url = parse_url(text);
    if (!url || (url->scheme != "http" && url->scheme != "https"))
        return "must be an http:// or https:// URL (scheme://host[:port][/path], no user info)";
    if (!valid_host(url->host)) return "must name a valid host (letters, digits, '-', '.', or an IP address)";
    if (url->scheme == "http" && !insecure_http && !is_loopback_host(url->host))
        return "plain http to a remote host is refused; use https, or set insecure_http = true";
    return std::nullopt;
}

}  // namespace backhaul::http
