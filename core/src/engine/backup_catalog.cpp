#include "engine/backup_catalog.hpp"

#include <algorithm>
#include <backhaul/common/digest.hpp>
#include <backhaul/common/encoding.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/backup_manifest.hpp"
#include "engine/pipeline_stages.hpp"
#include "errors.hpp"
#include "util/log.hpp"

namespace backhaul {

std::string destination_fingerprint(const SinkPlan& sink) {
    return common::hex(common::sha256("backhaul-destination/1\n" + sink.spec->stage.plugin + "\n" +
                                      sink.spec->key_template + "\n"))
        .substr(0, 16);
}

PipelineOwner pipeline_owner(const PipelinePlan& plan, const SinkPlan& sink) {
    return {plan.spec.name, destination_fingerprint(sink)};
}

const char* status_name(BackupStatus status) {
    switch (status) {
        case BackupStatus::complete:
            return "complete";
        case BackupStatus::incomplete:
            return "incomplete";
        case BackupStatus::unknown:
            return "unknown";
        case BackupStatus::foreign:
            return "foreign";
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

namespace {

std::chrono::system_clock::time_point from_unix_ms(int64_t ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// Metadata read and parsed once: the value, or why it is not one.
template <class Metadata>
struct ReadMetadata {
    std::optional<Metadata> value;
    std::string text;   // what `read` returned ("" if it failed)
    std::string error;  // why there is no value
};

template <class Metadata>
ReadMetadata<Metadata> read_metadata(const MetadataReader& read, const std::string& key) {
    ReadMetadata<Metadata> out;
    try {
        out.text = read(key);
        out.value = Metadata::from_json(out.text);
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

// A manifest that says it is a set's, whether or not it parses: a set's damaged manifest is still a set's.
bool claims_set_format(const std::string& text) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return false;
    auto it = j.find("format");
    return it != j.end() && it->is_string() && *it == kSetManifestFormat;
}

struct MemberCounts {
    size_t missing = 0;
    size_t wrong_size = 0;  // present with another size than the manifest records
};

// Sorts the members' presence and sizes from `under` (every listed object below "<set key>/") and fills what
// deleting the set would remove.
MemberCounts take_members(BackupEntry& entry, const std::map<std::string, const StoredObject*>& under) {
    MemberCounts counts;
    for (SetMember& member : entry.members) {
        auto it = under.find(member.key);
        if (it == under.end()) {
            ++counts.missing;
            continue;
        }
        member.present = true;
        member.listed_bytes = it->second->size;
        entry.object_keys.push_back(member.key);
        // A sink that does not know sizes (-1) proves presence only.
        if (member.recorded_bytes && member.listed_bytes >= 0 &&
            static_cast<uint64_t>(member.listed_bytes) != *member.recorded_bytes)
            ++counts.wrong_size;
    }
    entry.unlisted_objects = under.size() - entry.object_keys.size();
    return counts;
}

std::string unlisted_note(const BackupEntry& entry, const char* named_by) {
    return std::to_string(entry.unlisted_objects) + " object(s) under the set key that " + named_by +
           " does not name (never touched)";
}

}  // namespace

std::string set_summary(const BackupEntry& entry) {
    if (!entry.is_set) return "";
    if (entry.members.empty()) return "set";
    const bool named = !entry.members.front().stream.empty();
    return "set of " + std::to_string(entry.members.size()) + (named ? " streams" : " objects");
}

BackupCatalog catalog_backups(const std::vector<StoredObject>& objects, const KeyTemplate& key_template,
                              const KeyMatcher& matcher, const PipelineOwner& owner, const MetadataReader& read) {
    std::map<std::string, const StoredObject*> all, manifests, markers, data;
    for (const StoredObject& o : objects) {
        all[o.key] = &o;
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
                // A set's manifest describes the objects below this key, never an object at it.
                if (entry.note.empty() && m.is_set()) entry.note = "the manifest describes a set, not this object";
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
                if (entry.note.empty() && !m.objects.empty())
                    entry.note = "the pending marker names a set's objects, not this object";
                entry.status = entry.note.empty() ? BackupStatus::incomplete : BackupStatus::unknown;
                if (entry.note.empty())
                    entry.note = "no manifest; this pipeline's pending marker says one of its runs left it";
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

    // Metadata under a key the template matches with no data object at that key: a set's (its objects lie below the
    // key), or a one-stream backup's whose data is gone or never became visible. Only what reads back as this
    // pipeline's is ever deletable; anything else is reported when objects lie below it, else left alone.
    std::set<std::string> described;
    for (const auto* metadata : {&manifests, &markers})
        for (const auto& [key, object] : *metadata)
            if (std::string d = data_key_of(key); !data.count(d)) described.insert(d);
    for (const std::string& key : described) {
        std::optional<KeyMatcher::Match> match = matcher.match(key);
        if (!match) continue;
        auto manifest_it = manifests.find(manifest_key(key));
        auto marker_it = markers.find(pending_key(key));
        const StoredObject* manifest_object = manifest_it == manifests.end() ? nullptr : manifest_it->second;
        const StoredObject* marker_object = marker_it == markers.end() ? nullptr : marker_it->second;
        const StoredObject* metadata_object = manifest_object ? manifest_object : marker_object;
        // Its age is its backup's, like a backup's: the key's time fields, else the listing's time.
        const auto time = match->time.value_or(from_unix_ms(metadata_object->mtime_unix_ms));

        std::map<std::string, const StoredObject*> under;
        const std::string prefix = key + "/";
        for (auto it = all.lower_bound(prefix); it != all.end() && it->first.starts_with(prefix); ++it)
            under.insert(*it);

        BackupEntry entry;
        entry.key = key;
        entry.time = time;
        entry.is_set = true;
        std::optional<ReadMetadata<PendingMarker>> marker;
        std::string marker_mismatch;
        if (marker_object) {
            marker = read_metadata<PendingMarker>(read, marker_object->key);
            if (marker->value)
                marker_mismatch = ownership_mismatch(owner, marker->value->pipeline, marker->value->destination,
                                                     marker->value->key, key, "pending marker");
        }
        const bool marker_ours = marker && marker->value && marker_mismatch.empty();

        if (manifest_object) {
            // The manifest decides; a marker next to it (a run that died between writing the manifest and removing
            // the marker) adds nothing to what may be deleted.
            ReadMetadata<BackupManifest> manifest = read_metadata<BackupManifest>(read, manifest_object->key);
            if (!manifest.value) {
                if (under.empty() && !claims_set_format(manifest.text)) continue;  // not provably anyone's set
                entry.status = BackupStatus::foreign;
                entry.note = "manifest cannot be read: " + manifest.error;
            } else if (const BackupManifest& m = *manifest.value; !m.is_set()) {
                if (ownership_mismatch(owner, m.pipeline, m.destination, m.key, key, "manifest").empty())
                    catalog.orphans.push_back(OrphanMetadata{manifest_object->key, time});
                continue;
            } else if (std::string mismatch =
                           ownership_mismatch(owner, m.pipeline, m.destination, m.key, key, "manifest");
                       !mismatch.empty()) {
                entry.status = BackupStatus::foreign;
                entry.note = mismatch;
            } else {
                for (const ManifestObject& o : m.objects)
                    entry.members.push_back(SetMember{o.stream, o.key, o.stored_bytes, -1, false});
                entry.raw_bytes = m.raw_bytes;
                entry.stored_bytes = static_cast<int64_t>(m.stored_bytes);
                entry.identity = identity_of(key_template, m.variables);
                const MemberCounts counts = take_members(entry, under);
                if (entry.object_keys.empty() && under.empty()) {
                    // Every object is gone (a prune interrupted between data and metadata): metadata without data.
                    catalog.orphans.push_back(OrphanMetadata{manifest_object->key, time});
                    continue;
                }
                std::vector<std::string> problems;
                const std::string of =
                    " of the " + std::to_string(entry.members.size()) + " objects its manifest lists ";
                if (counts.missing) problems.push_back(std::to_string(counts.missing) + of + "are missing");
                if (counts.wrong_size)
                    problems.push_back(std::to_string(counts.wrong_size) + of + "have another size than it records");
                if (entry.unlisted_objects) problems.push_back(unlisted_note(entry, "its manifest"));
                for (const std::string& p : problems) entry.note += (entry.note.empty() ? "" : "; ") + p;
                const bool whole = counts.missing == 0 && counts.wrong_size == 0;
                entry.status = whole ? BackupStatus::complete : BackupStatus::incomplete;
                entry.metadata_keys.push_back(manifest_object->key);
                if (marker_ours) entry.metadata_keys.push_back(marker_object->key);
            }
        } else if (!marker->value) {
            if (under.empty()) continue;
            entry.status = BackupStatus::unknown;
            entry.note = "no manifest; pending marker cannot be read: " + marker->error;
        } else if (marker->value->objects.empty()) {
            // A one-stream run's marker whose upload never became visible.
            if (marker_ours) catalog.orphans.push_back(OrphanMetadata{marker_object->key, time});
            continue;
        } else if (!marker_ours) {
            if (under.empty()) continue;
            entry.status = BackupStatus::unknown;
            entry.note = "no manifest; " + marker_mismatch;
        } else if (under.empty()) {
            // A set's run that wrote none of its objects (or whose objects are gone): metadata without data.
            catalog.orphans.push_back(OrphanMetadata{marker_object->key, time});
            continue;
        } else {
            for (const std::string& object_key : marker->value->objects)
                entry.members.push_back(SetMember{"", object_key, std::nullopt, -1, false});
            take_members(entry, under);
            entry.status = BackupStatus::incomplete;
            entry.note = "no manifest; this pipeline's pending marker says one of its runs left " +
                         std::to_string(entry.object_keys.size()) + " of the " + std::to_string(entry.members.size()) +
                         " objects it names";
            if (entry.unlisted_objects) entry.note += "; " + unlisted_note(entry, "it");
            entry.stored_bytes = 0;  // no manifest: what the listing holds of it
            for (const SetMember& member : entry.members)
                if (member.present)
                    entry.stored_bytes = member.listed_bytes < 0 || entry.stored_bytes < 0
                                             ? -1
                                             : entry.stored_bytes + member.listed_bytes;
            entry.metadata_keys.push_back(marker_object->key);
        }
        catalog.backups.push_back(std::move(entry));
    }

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

KeyMatcher pipeline_key_matcher(const PipelinePlan& plan, const SinkPlan& sink) {
    return KeyMatcher(sink.key, {{"pipeline", plan.spec.name}}, TimeZone::load(plan.spec.timezone));
}

BackupCatalog list_backups(const PipelinePlan& plan, SinkStore& store) {
    const SinkPlan& sink = store.destination();
    KeyMatcher matcher = pipeline_key_matcher(plan, sink);
    return catalog_backups(store.list(matcher.prefix()), sink.key, matcher, pipeline_owner(plan, sink),
                           [&](const std::string& key) { return store.read_all(key, kManifestMaxBytes); });
}

ChosenCopy choose_copy(const PipelinePlan& plan, const ValueResolver& secrets, const RunControl& control,
                       const std::optional<std::string>& sink_name, const std::optional<std::string>& key,
                       bool find_newest, const std::string& command) {
    ChosenCopy chosen{&plan.sinks.front(), key};
    if (sink_name) chosen.sink = &plan.sink_named(*sink_name);
    const bool look = find_newest && !key;
    if (!look && (sink_name || plan.sinks.size() == 1)) return chosen;

    std::vector<const SinkPlan*> candidates;
    if (sink_name)
        candidates.push_back(chosen.sink);
    else
        for (const SinkPlan& sink : plan.sinks) candidates.push_back(&sink);
    std::optional<std::chrono::system_clock::time_point> newest;
    for (const SinkPlan* sink : candidates) {
        BackupCatalog catalog;
        try {
            std::unique_ptr<PluginInstance> instance = create_stage(sink->stage, secrets, control);
            SinkStore store(*sink, *instance);
            catalog = list_backups(plan, store);
        } catch (const RunError& e) {
            if (candidates.size() == 1) throw;
            Log::warn("sink '" + sink->name() + "' could not be listed, so it is passed over: " + e.what());
            continue;
        }
        for (const BackupEntry& b : catalog.backups) {
            if (!b.complete()) continue;
            if (key && b.key == *key) return ChosenCopy{sink, key};
            if (look && (!newest || b.time > *newest)) {
                newest = b.time;
                chosen = ChosenCopy{sink, b.key};
            }
            if (look) break;  // newest first
        }
    }
    if (look && !newest)
        throw RunError(command + ": pipeline '" + plan.spec.name + "' has no complete backup in " +
                       (plan.sinks.size() == 1   ? std::string("the sink")
                        : candidates.size() == 1 ? "sink '" + candidates.front()->name() + "'"
                                                 : std::string("any of its sinks")));
    return chosen;
}

}  // namespace backhaul
