// nlohmann::json whose strings are SecretStrings, for parsing documents that carry secret values, and wipe_strings()
// to clear the strings a parsed document holds before it is released. Header-only (Backhaul::plugin_support brings
// nlohmann_json along).
#pragma once

#include <backhaul/support/crypto/secure_memory.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

namespace backhaul::crypto {

using SecretJson = nlohmann::basic_json<std::map, std::vector, SecretString>;

// Short strings live inside the string object (no allocation of their own), which the document frees with a plain
// allocator: wipe every string value in place first. Keys are names, not secrets.
inline void wipe_strings(SecretJson& document) noexcept {
    if (document.is_string()) {
        wipe(document.get_ref<SecretString&>());
    } else if (document.is_structured()) {
        for (SecretJson& child : document) wipe_strings(child);
    }
}

// Wipes the document's strings when it goes out of scope, whichever way that happens.
class WipeOnExit {
  public:
    explicit WipeOnExit(SecretJson& document) : document_(document) {}
    ~WipeOnExit() { wipe_strings(document_); }
    WipeOnExit(const WipeOnExit&) = delete;
    WipeOnExit& operator=(const WipeOnExit&) = delete;

  private:
    SecretJson& document_;
};

}  // namespace backhaul::crypto
