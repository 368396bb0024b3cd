// Fuzz target: bytes as a manifest or pending marker read from a sink. A bucket is shared ground (anyone with write
// access may put an object there), and what these say decides what retention deletes, so a parse may only ever give
// a value or a std::runtime_error, and a value must keep its promise: every object a set's metadata names lies under
// its own key. A parsed manifest written back parses to the same objects.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/backup_manifest.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace backhaul;

void check_under(const std::string& set_key, const std::string& key) {
    if (!key.starts_with(set_key + "/") || key.size() <= set_key.size() + 1)
        fuzz_fail("metadata of '" + set_key + "' names '" + key + "' outside it");
    if (key.find("/../") != std::string::npos || key.ends_with("/..") || key.find("//") != std::string::npos)
        fuzz_fail("metadata names malformed key '" + key + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        BackupManifest m = BackupManifest::from_json(text);
        for (const ManifestObject& o : m.objects) check_under(m.key, o.key);
        BackupManifest again = BackupManifest::from_json(m.to_json());
        if (again.objects.size() != m.objects.size() || again.key != m.key || again.raw_bytes != m.raw_bytes)
            fuzz_fail("a manifest written back parses differently");
        for (size_t i = 0; i < m.objects.size(); ++i)
            if (again.objects[i].key != m.objects[i].key || again.objects[i].sha256 != m.objects[i].sha256)
                fuzz_fail("a manifest's object written back parses differently");
    } catch (const std::runtime_error&) {
    }
    try {
        PendingMarker p = PendingMarker::from_json(text);
        for (const std::string& key : p.objects) check_under(p.key, key);
    } catch (const std::runtime_error&) {
    }
    return 0;
}
