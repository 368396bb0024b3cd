#include "engine/backup_catalog.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "engine/backup_manifest.hpp"

namespace backhaul {

BackupCatalog catalog_backups(const std::vector<StoredObject>& objects, const KeyMatcher& matcher) {
    std::set<std::string> manifests;
    std::set<std::string> data_keys;
    for (const StoredObject& o : objects)
        if (is_manifest_key(o.key)) manifests.insert(o.key);
    BackupCatalog catalog;
    for (const StoredObject& o : objects) {
        if (is_manifest_key(o.key)) continue;
        std::optional<KeyMatcher::Match> match = matcher.match(o.key);
        if (!match) continue;
        BackupEntry entry;
        entry.key = o.key;
        entry.time = match->time.value_or(std::chrono::system_clock::time_point(std::chrono::milliseconds(o.mtime_unix_ms)));
        entry.stored_bytes = o.size;
        entry.complete = manifests.count(manifest_key(o.key)) != 0;
        data_keys.insert(o.key);
        catalog.backups.push_back(std::move(entry));
    }
    for (const std::string& m : manifests) {
        std::string data = m.substr(0, m.size() - kManifestSuffix.size());
        if (!data_keys.count(data) && matcher.match(data)) catalog.orphan_manifests.push_back(m);
    }
    std::sort(catalog.backups.begin(), catalog.backups.end(), [](const BackupEntry& a, const BackupEntry& b) {
        if (a.time != b.time) return a.time > b.time;
        return a.key > b.key;
    });
    return catalog;
}

KeyMatcher pipeline_key_matcher(const PipelinePlan& plan) {
    return KeyMatcher(plan.key, {{"pipeline", plan.spec.name}}, TimeZone::load(plan.spec.timezone));
}

BackupCatalog list_backups(const PipelinePlan& plan, SinkStore& store) {
    KeyMatcher matcher = pipeline_key_matcher(plan);
    return catalog_backups(store.list(matcher.prefix()), matcher);
}

}  // namespace backhaul
