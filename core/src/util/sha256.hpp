// SHA-256 fed piece by piece (OpenSSL EVP), for hashing a backup's stored bytes while they stream to the sink and
// again while verify reads them back: never a second pass over the data.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace backhaul {

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::span<const uint8_t> data);
    void update(std::string_view data) { update({reinterpret_cast<const uint8_t*>(data.data()), data.size()}); }
    // Lower-case hex of the digest of everything given so far. Call once; update() afterwards is a logic error.
    std::string hex_digest();

  private:
    struct Context;
    std::unique_ptr<Context> context_;
};

// One-shot convenience.
std::string sha256_hex(std::string_view data);

}  // namespace backhaul
