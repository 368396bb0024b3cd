// The backups of one pipeline as its sink holds them, from one (sink-paginated) listing and the manifests it names:
// the keys its key template can produce, each classified by what Backhaul can *prove* about it. No local state: what
// the sink holds is the truth, so retention works the same from a laptop, a container or a new host.
//
// Ownership is the heart of deletion safety (docs/retention.md, "What is never touched"): an object is this
// pipeline's only if a manifest or pending marker written by this pipeline says so. Matching the key template is not
// enough: two pipelines may share a bucket and a template, and anyone may put a file there by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/key_template.hpp"
#include "engine/pipeline_plan.hpp"
#include "engine/sink_store.hpp"

namespace backhaul {

// Who wrote a backup: recorded in its manifest and pending marker, compared on every listing.
struct PipelineOwner {
    std::string pipeline;     // the pipeline's `name`
    std::string destination;  // destination_fingerprint(): the sink plugin and the key template
};

// sha256 of the sink plugin's name and the key template, 16 hex digits. Deliberately not the sink's options: the
// listing already proves the bucket or directory, and tuning (part_size, a rotated access key) must not turn a
// pipeline's history into strangers' objects.
// Per sink, not its name: renaming a sink keeps its history.
std::string destination_fingerprint(const SinkPlan& sink);
PipelineOwner pipeline_owner(const PipelinePlan& plan, const SinkPlan& sink);

// Why `pipeline`, `destination` and `recorded_key` recorded in a metadata object (`what`: "manifest", "pending
// marker") for `data_key` are not `owner`'s, or "" if they are: the one rule of ownership, for the catalog and restore.
std::string ownership_mismatch(const PipelineOwner& owner, const std::string& pipeline, const std::string& destination,
                               const std::string& recorded_key, const std::string& data_key, const char* what);

enum class BackupStatus {
    complete,    // this pipeline's manifest describes it (a set: and every object it lists is there, at its size):
                 // the only kind retention deletes by its rules
    incomplete,  // no manifest, but this pipeline's pending marker proves one of its runs left it; or a set of this
                 // pipeline whose manifest lists objects that are missing or of another size
    unknown,     // matches the key template, no manifest, no marker of ours: anyone's; never deleted
    foreign,     // its manifest names another pipeline or cannot be read: never deleted
};
const char* status_name(BackupStatus status);

// One object a set's metadata names, and what the listing holds of it.
struct SetMember {
    std::string stream;                      // the manifest's stream name; "" when only a pending marker names it
    std::string key;                         // under "<set key>/"
    std::optional<uint64_t> recorded_bytes;  // the manifest's stored size (none from a marker)
    int64_t listed_bytes = -1;               // the listing's size; -1 if the sink does not know
    bool present = false;                    // in the listing
};

struct BackupEntry {
    std::string key;  // a set's: the set key, under which its objects lie ("<key>/...")
    // The run's start time from the key's time fields; the object's modification time when the key has no date.
    std::chrono::system_clock::time_point time;
    int64_t stored_bytes = -1;  // -1 if the sink does not know; a set's: its manifest's total
    BackupStatus status = BackupStatus::unknown;
    std::string note;                   // unknown/foreign: why it is not provably ours; a set: what is wrong with it
    std::optional<uint64_t> raw_bytes;  // the manifest's raw size (a set's: the total)
    // complete: the values of the key template's variables other than {pipeline} and {ext}, as the manifest records
    // them ({database} = "orders"). Backups of one pipeline share them; differing values mean a shared name.
    std::map<std::string, std::string> identity;

    // A set (docs/sets.md): one backup of several objects under "<key>/", described by "<key>.manifest.json" (or,
    // left by a run that did not finish, only by "<key>.pending.json").
    bool is_set = false;
    // A set of this pipeline: the keys of its objects that exist in the listing, as its manifest (without one: this
    // pipeline's pending marker) names them. Deleting the entry removes these and only these, then `metadata_keys`.
    std::vector<std::string> object_keys;
    // A set of this pipeline: its manifest and this pipeline's pending marker, those that exist.
    std::vector<std::string> metadata_keys;
    // A set: every object its manifest (or marker) names, in its order. Empty for a foreign or unknown set.
    std::vector<SetMember> members;
    // A set: objects under "<key>/" that its metadata does not name. Reported, never touched.
    size_t unlisted_objects = 0;

    bool complete() const { return status == BackupStatus::complete; }
};

// "set of 3 streams" (a marker names objects, not streams: "set of 3 objects"); "" for a one-stream backup.
std::string set_summary(const BackupEntry& entry);

// A manifest or pending marker of this pipeline whose data object is gone (or never became visible).
struct OrphanMetadata {
    std::string key;
    std::chrono::system_clock::time_point time;  // its backup's time: from the key, else the listing's mtime
};

struct BackupCatalog {
    std::vector<BackupEntry> backups;     // newest first (ties: greater key first): independent of listing order
    std::vector<OrphanMetadata> orphans;  // this pipeline's metadata without data, oldest first
    size_t count(BackupStatus status) const;
};

// Reads a small metadata object by key; throws on failure (the object is then treated as not provably ours).
using MetadataReader = std::function<std::string(const std::string& key)>;

// Pure apart from `read`: sorts `objects` (a listing) into `owner`'s backups. Objects `matcher` (made from
// `key_template`) rejects are not listed at all, except as the objects of a set whose key it matches; metadata
// objects (manifests, markers) are read with `read` to decide ownership.
BackupCatalog catalog_backups(const std::vector<StoredObject>& objects, const KeyTemplate& key_template,
                              const KeyMatcher& matcher, const PipelineOwner& owner, const MetadataReader& read);

// The matcher for `plan`'s keys: {pipeline} is known, the pipeline's time zone decodes the time fields.
KeyMatcher pipeline_key_matcher(const PipelinePlan& plan, const SinkPlan& sink);

// Lists the sink under the key template's literal prefix, reads the metadata, catalogs. Throws RunError.
BackupCatalog list_backups(const PipelinePlan& plan, SinkStore& store);

// Which copy a command reads (list, verify, restore; docs/sets.md, "Several sinks"): `sink_name` if given (UsageError
// if the pipeline has no such sink); otherwise, with one sink, that one; with several, the first whose listing holds
// `key` complete, or with no key the one holding the newest complete backup (the first on a tie). A sink that cannot
// be listed is warned about and passed over; if none holds it, the first sink, whose read then says why.
struct ChosenCopy {
    const SinkPlan* sink = nullptr;
    std::optional<std::string> key;  // `key`, or the newest complete backup's when one was looked for and found
};
// `command` ("verify", "restore") prefixes its errors.
ChosenCopy choose_copy(const PipelinePlan& plan, const ValueResolver& secrets, const RunControl& control,
                       const std::optional<std::string>& sink_name, const std::optional<std::string>& key,
                       bool find_newest, const std::string& command);

// The identity variables of a backup from its variables: those the key template uses, except {pipeline} and {ext}.
std::map<std::string, std::string> identity_of(const KeyTemplate& key_template,
                                               const std::map<std::string, std::string>& variables);

}  // namespace backhaul
