// A loopback HTTP proxy that injects faults into chosen S3 requests, for the retry and abort tests. It forwards each
// request to the upstream server on a fresh connection (one request per client connection: it answers with
// "Connection: close"), unless a fault rule matches the request's method and target; then it answers with an error
// status, resets the connection halfway through the request body, never answers, answers 200 with an <Error> body, or
// forwards the request and drops the server's answer.
// Header-only; runs on its own threads inside the test process.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace backhaul::testing {

struct Fault {
    enum class Kind {
        status,         // answer `status` with `body`, without forwarding
        reset,          // read half the request body, then reset the connection (RST)
        stall,          // read the request, then say nothing until the client gives up
        error_in_200,   // answer 200 OK whose body is an S3 <Error> (as CompleteMultipartUpload may)
        lose_response,  // forward the request, let the server answer in full, then reset the connection: the request
                        // took effect, the client never learns it did
        hold_response,  // forward the request, read the server's answer in full, and deliver it only on release():
                        // the request took effect and the test acts (e.g. a signal) while the answer is in flight
    };
    Kind kind = Kind::status;
    std::string method;      // e.g. "PUT"
    std::string target_has;  // substring of the request target, e.g. "partNumber=2&"
    int times = 1;           // how many matching requests get the fault; -1 = all of them
    int status = 500;
    std::string body;
};

class FaultProxy {
  public:
    explicit FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener_, 64) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw std::runtime_error("fault proxy cannot listen");
        port_ = ntohs(address.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~FaultProxy() {
        stopping_ = true;
        {
            std::lock_guard lock(mutex_);
            held_changed_.notify_all();
        }
        acceptor_.join();
        std::vector<std::thread> handlers;
        {
            std::lock_guard lock(mutex_);
            handlers.swap(handlers_);
        }
        for (std::thread& t : handlers) t.join();
        ::close(listener_);
    }

    int port() const { return port_; }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

    void add(Fault fault) {
        std::lock_guard lock(mutex_);
        faults_.push_back(std::move(fault));
    }
    // How many requests got a fault so far.
    int injected() const { return injected_.load(); }

    // For hold_response: waits (bounded) until an answer is being held; release() lets it through.
    bool wait_until_held(std::chrono::seconds limit = std::chrono::seconds(60)) {
        std::unique_lock lock(mutex_);
        return held_changed_.wait_for(lock, limit, [this] { return held_; });
    }
    void release() {
        std::lock_guard lock(mutex_);
        released_ = true;
        held_changed_.notify_all();
    }
    // Every request seen, as "METHOD target".
    std::vector<std::string> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    // Every request's head as received (request line and headers, "\r\n"-separated): what the client sent and signed.
    std::vector<std::string> heads() const {
        std::lock_guard lock(mutex_);
        return heads_;
    }

  private:
    void accept_loop() {
        while (!stopping_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            std::lock_guard lock(mutex_);
            handlers_.emplace_back([this, client] {
                handle(client);
                ::close(client);
            });
        }
    }

    // Reads until `buffer` holds at least `size` bytes; false on EOF, error or shutdown.
    bool fill(int fd, std::string& buffer, size_t size) {
        char chunk[65536];
        while (buffer.size() < size) {
            pollfd p{fd, POLLIN, 0};
            if (stopping_) return false;
            if (::poll(&p, 1, 100) <= 0) continue;
            ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n <= 0) return false;
            buffer.append(chunk, static_cast<size_t>(n));
        }
        return true;
    }

    bool read_head(int fd, std::string& buffer, size_t& head_end) {
        char chunk[65536];
        while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
            pollfd p{fd, POLLIN, 0};
            if (stopping_) return false;
            if (::poll(&p, 1, 100) <= 0) continue;
            ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n <= 0) return false;
            buffer.append(chunk, static_cast<size_t>(n));
        }
        head_end += 4;
        return true;
    }

    static bool write_all(int fd, std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    static size_t content_length(const std::string& head) {
        std::string lower;
        for (char c : head) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        size_t at = lower.find("\r\ncontent-length:");
        return at == std::string::npos ? 0 : std::stoull(head.substr(at + 17));
    }

    // The head with every Connection header replaced by "Connection: close".
    static std::string close_connection(const std::string& head) {
        std::string out;
        size_t start = 0;
        while (start < head.size()) {
            size_t end = head.find("\r\n", start);
            std::string line = head.substr(start, end - start);
            start = end + 2;
            if (line.empty()) break;
            std::string lower;
            for (char c : line) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            if (lower.rfind("connection:", 0) == 0) continue;
            out += line + "\r\n";
        }
        return out + "Connection: close\r\n\r\n";
    }

    void handle(int client) {
        std::string buffer;
        size_t head_end = 0;
        if (!read_head(client, buffer, head_end)) return;
        std::string head = buffer.substr(0, head_end);
        size_t space = head.find(' ');
        std::string method = head.substr(0, space);
        std::string target = head.substr(space + 1, head.find(' ', space + 1) - space - 1);
        size_t body_length = content_length(head);

        std::optional<Fault> fault;
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(method + " " + target);
            heads_.push_back(head);
            for (Fault& f : faults_) {
                if (f.times == 0 || f.method != method || target.find(f.target_has) == std::string::npos) continue;
                if (f.times > 0) --f.times;
                fault = f;
                ++injected_;
                break;
            }
        }
        if (fault) {
            switch (fault->kind) {
                case Fault::Kind::reset: {
                    fill(client, buffer, head_end + body_length / 2);
                    linger reset{1, 0};
                    ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
                    return;
                }
                case Fault::Kind::stall: {
                    fill(client, buffer, head_end + body_length);
                    // Until the client hangs up (its timeout) or the proxy stops.
                    while (!stopping_) {
                        pollfd p{client, POLLIN, 0};
                        if (::poll(&p, 1, 100) > 0) {
                            char c;
                            if (::read(client, &c, 1) <= 0) return;
                        }
                    }
                    return;
                }
                case Fault::Kind::status:
                case Fault::Kind::error_in_200: {
                    fill(client, buffer, head_end + body_length);
                    int status = fault->kind == Fault::Kind::status ? fault->status : 200;
                    write_all(client, "HTTP/1.1 " + std::to_string(status) +
                                          " Injected\r\nContent-Type: application/xml\r\nContent-Length: " +
                                          std::to_string(fault->body.size()) + "\r\nConnection: close\r\n\r\n" +
                                          fault->body);
                    return;
                }
                case Fault::Kind::hold_response:
                    forward(client, head, buffer.substr(head_end), body_length, true, true);
                    return;
                case Fault::Kind::lose_response: {
                    forward(client, head, buffer.substr(head_end), body_length, false);
                    linger reset{1, 0};
                    ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
                    return;
                }
            }
        }
        forward(client, head, buffer.substr(head_end), body_length, true);
    }

    // Sends the request upstream and pipes the answer back, or (`deliver` false) reads the whole answer and drops it.
    // `hold`: the whole answer is read first and delivered only on release().
    void forward(int client, const std::string& head, std::string body_start, size_t body_length, bool deliver,
                 bool hold = false) {
        int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<uint16_t>(upstream_port_));
        if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(upstream);
            return;
        }
        bool ok = write_all(upstream, close_connection(head)) && write_all(upstream, body_start);
        // The rest of the body, streamed.
        size_t sent = body_start.size();
        std::string chunk;
        while (ok && sent < body_length) {
            chunk.clear();
            if (!fill(client, chunk, 1))
                ok = false;
            else {
                ok = write_all(upstream, chunk);
                sent += chunk.size();
            }
        }
        // The server stopped taking the body (it answered early): take the rest from the client anyway, as a real
        // server's socket would, so the client gets to read the answer instead of a reset.
        while (!ok && sent < body_length) {
            chunk.clear();
            if (!fill(client, chunk, 1)) break;
            sent += chunk.size();
        }
        // The response: its head gets "Connection: close" (one request per connection), the rest is piped as is.
        std::string response;
        size_t head_end = 0;
        if (ok && !deliver) {
            while (fill(upstream, response, response.size() + 1)) {
            }
        } else if (ok && hold) {
            while (fill(upstream, response, response.size() + 1)) {
            }
            std::unique_lock lock(mutex_);
            held_ = true;
            held_changed_.notify_all();
            held_changed_.wait(lock, [this] { return released_ || stopping_.load(); });
            lock.unlock();
            size_t end = response.find("\r\n\r\n");
            if (end != std::string::npos)
                write_all(client, close_connection(response.substr(0, end + 4)) + response.substr(end + 4));
        } else if (read_head(upstream, response, head_end)) {
            // Also when sending the body failed: a server may answer early (e.g. 501 to a header) and close while the
            // client is still sending, and a real client reads that answer.
            ok = write_all(client, close_connection(response.substr(0, head_end))) &&
                 write_all(client, std::string_view(response).substr(head_end));
            while (ok) {
                std::string piece;
                if (!fill(upstream, piece, 1)) break;
                ok = write_all(client, piece);
            }
        }
        ::close(upstream);
    }

    int upstream_port_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::condition_variable held_changed_;
    bool held_ = false, released_ = false;
    std::atomic<int> injected_{0};
    mutable std::mutex mutex_;
    std::vector<Fault> faults_;
    std::vector<std::string> requests_;
    std::vector<std::string> heads_;
    std::vector<std::thread> handlers_;
    std::thread acceptor_;
};

}  // namespace backhaul::testing
