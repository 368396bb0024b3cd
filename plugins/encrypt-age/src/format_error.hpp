// Why an age file could not be decrypted. The kind mirrors the failure classes of the age testkit (header, no match,
// header MAC, payload), so tests can check that a file fails at the right layer and not merely that it fails.
#pragma once

#include <backhaul/sdk.hpp>
#include <string>

namespace backhaul::age {

enum class FailureKind { header, no_match, header_mac, payload };

// A one-line, user-facing error about the age data itself (not about the configuration).
class FormatError : public Error {
  public:
    FormatError(FailureKind kind, const std::string& message) : Error(Status::fatal, message), kind_(kind) {}
    FailureKind kind() const noexcept { return kind_; }

  private:
    FailureKind kind_;
};

// "invalid age header: <reason>", the one prefix every header parsing error carries.
inline FormatError header_error(const std::string& reason) {
    return FormatError(FailureKind::header, "invalid age header: " + reason);
}

}  // namespace backhaul::age
