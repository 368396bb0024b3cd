#include "engine/backup_catalog.hpp"

#include <algorithm>
#include <set>

#include "engine/backup_manifest.hpp"
#include "errors.hpp"
#include "util/sha256.hpp"

namespace backhaul {

std::string destination_fingerprint(const PipelinePlan& plan) {
    return sha256_hex("backhaul-destination/1\n" + plan.spec.sink.plugin + "\n" + plan.spec.key_template + "\n")
        .substr(0, 16);
}

PipelineOwner pipeline_owner(const PipelinePlan& plan) { return {plan.spec.name, destination_fingerprint(plan)}; }

const char* status_name(BackupStatus status) {
    switch (status) {
        case BackupStatus::complete: return "complete";
        case BackupStatus::incomplete: return "incomplete";
        case BackupStatus::unknown: return "unknown";
        case BackupStatus::foreign: return "foreign";
    }
    return "unknown";
}

size_t BackupCatalog::count(BackupStatus status) const {
    return static_cast<size_t>(
        std::count_if(backups.begin(), backups.end(), [&](const BackupEntry& b) { return b.status == status; }));
}

std::map<std::string, std::string> identity_of(const KeyTemplate& key_template,
                                               const std::map<std::string, std::string>& variables) {
    std::map<std::string, std::string> identity;
    for (const std::string& name : key_template.variables()) {
        if (name == "pipeline" || name == "ext") continue;
        auto it = variables.find(name);
        identity[name] = it == variables.end() ? "" : it->second;
    }
    return identity;
}

namespace {

std::chrono::system_clock::time_point from_unix_ms(int64_t ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// Why `pipeline`/`destination` recorded in a metadata object for `data_key` are not `owner`'s, or "" if they are.
std::string ownership_mismatch(const PipelineOwner& owner, const std::string& pipeline, const std::string& destination,
                               const std::string& recorded_key, const std::string& data_key, const char* what) {
    if (pipeline != owner.pipeline) return std::string(what) + " of pipeline '" + pipeline + "'";
    if (recorded_key != data_key) return std::string(what) + " names another key ('" + recorded_key + "')";
    // Manifests from before the destination was recorded carry none: the name, the key and the listing decide.
    if (!destination.empty() && destination != owner.destination)
        return std::string(what) + " of a pipeline named '" + pipeline +
               "' with another sink plugin or key template (destination " + destination + ")";
    return "";
}

}  // namespace

BackupCatalog catalog_backups(const std::vector<StoredObject>& objects, const KeyTemplate& key_template,
                              const KeyMatcher& matcher, const PipelineOwner& owner, const MetadataReader& read) {
    std::map<std::string, const StoredObject*> manifests, markers, data;
    for (const StoredObject& o : objects) {
        if (is_manifest_key(o.key))
            manifests[o.key] = &o;
        else if (is_pending_key(o.key))
            markers[o.key] = &o;
        else if (matcher.match(o.key))
            data[o.key] = &o;
    }

    BackupCatalog catalog;
    for (const auto& [key, object] : data) {
        std::optional<KeyMatcher::Match> match = matcher.match(key);
        BackupEntry entry;
        entry.key = key;
        entry.time = match->time.value_or(from_unix_ms(object->mtime_unix_ms));
        entry.stored_bytes = object->size;
        if (manifests.count(manifest_key(key))) {
            try {
                BackupManifest m = BackupManifest::from_json(read(manifest_key(key)));
                entry.note = ownership_mismatch(owner, m.pipeline, m.destination, m.key, key, "manifest");
                if (entry.note.empty()) {
                    entry.status = BackupStatus::complete;
                    entry.raw_bytes = m.raw_bytes;
                    entry.identity = identity_of(key_template, m.variables);
                } else {
                    entry.status = BackupStatus::foreign;
                }
            } catch (const std::exception& e) {
                entry.status = BackupStatus::foreign;
                entry.note = std::string("manifest cannot be read: ") + e.what();
            }
        } else if (markers.count(pending_key(key))) {
            try {
                PendingMarker m = PendingMarker::from_json(read(pending_key(key)));
                entry.note = ownership_mismatch(owner, m.pipeline, m.destination, m.key, key, "pending marker");
                entry.status = entry.note.empty() ? BackupStatus::incomplete : BackupStatus::unknown;
                if (entry.note.empty()) entry.note = "no manifest; this pipeline's pending marker says one of its runs left it";
            } catch (const std::exception& e) {
                entry.status = BackupStatus::unknown;
                entry.note = std::string("no manifest; pending marker cannot be read: ") + e.what();
            }
        } else {
            entry.status = BackupStatus::unknown;
            entry.note = "no manifest and no pending marker of this pipeline";
        }
        catalog.backups.push_back(std::move(entry));
    }

    // Metadata of ours that describes nothing: a manifest whose data is gone, a marker of a run whose upload never
    // became visible. Only objects that read back as this pipeline's count; anything else is left alone.
    auto add_orphans = [&](const std::map<std::string, const StoredObject*>& metadata, bool manifest) {
        for (const auto& [key, object] : metadata) {
            const std::string described = data_key_of(key);
            if (data.count(described) || !matcher.match(described)) continue;
            if (!manifest && manifests.count(manifest_key(described))) continue;  // the manifest's orphan entry covers it
            try {
                std::string text = read(key);
                // Its age is its backup's, like a backup's: the key's time fields, else the listing's time.
                OrphanMetadata orphan{key, matcher.match(described)->time.value_or(from_unix_ms(object->mtime_unix_ms))};
                std::string mismatch;
                // A set's metadata (docs/sets.md) has no data object under its own key: its objects lie below it.
                // It is never an orphan; this catalog does not manage sets yet, so it is left alone.
                if (manifest) {
                    BackupManifest m = BackupManifest::from_json(text);
                    if (m.is_set()) continue;
                    mismatch = ownership_mismatch(owner, m.pipeline, m.destination, m.key, described, "manifest");
                } else {
                    PendingMarker m = PendingMarker::from_json(text);
                    if (!m.objects.empty()) continue;
                    mismatch = ownership_mismatch(owner, m.pipeline, m.destination, m.key, described, "pending marker");
                }
                if (mismatch.empty()) catalog.orphans.push_back(std::move(orphan));
            } catch (const std::exception&) {
                // Not provably ours: never touched.
            }
        }
    };
    add_orphans(manifests, true);
    add_orphans(markers, false);

    std::sort(catalog.backups.begin(), catalog.backups.end(), [](const BackupEntry& a, const BackupEntry& b) {
        if (a.time != b.time) return a.time > b.time;
        return a.key > b.key;
    });
    std::sort(catalog.orphans.begin(), catalog.orphans.end(), [](const OrphanMetadata& a, const OrphanMetadata& b) {
        if (a.time != b.time) return a.time < b.time;
        return a.key < b.key;
    });
    return catalog;
}

KeyMatcher pipeline_key_matcher(const PipelinePlan& plan) {
    return KeyMatcher(plan.key, {{"pipeline", plan.spec.name}}, TimeZone::load(plan.spec.timezone));
}

BackupCatalog list_backups(const PipelinePlan& plan, SinkStore& store) {
    KeyMatcher matcher = pipeline_key_matcher(plan);
    return catalog_backups(store.list(matcher.prefix()), plan.key, matcher, pipeline_owner(plan),
                           [&](const std::string& key) { return store.read_all(key, kManifestMaxBytes); });
}

}  // namespace backhaul
