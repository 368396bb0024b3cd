#include "engine/retention_apply.hpp"

#include "engine/backup_catalog.hpp"
#include "engine/backup_manifest.hpp"

namespace backhaul {
namespace {

// Sinks take any count, but S3-style bulk deletes are 1000 keys at most: keep each call within that.
constexpr size_t kRemoveBatch = 1000;

void remove_in_batches(SinkStore& store, const std::vector<std::string>& keys) {
    for (size_t i = 0; i < keys.size(); i += kRemoveBatch)
        store.remove(std::vector<std::string>(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                              keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + kRemoveBatch))));
}

}  // namespace

RetentionOutcome apply_retention(const PipelinePlan& plan, const RetentionPolicy& policy, SinkStore& store,
                                 std::chrono::system_clock::time_point now, bool dry_run) {
    BackupCatalog catalog = list_backups(plan, store);
    RetentionOutcome outcome;
    outcome.decisions = plan_retention(catalog.backups, policy, TimeZone::load(plan.spec.timezone), now);
    outcome.orphan_manifests = catalog.orphan_manifests;
    std::vector<std::string> data, manifests = catalog.orphan_manifests;
    for (const RetentionDecision& d : outcome.decisions) {
        if (d.keep) continue;
        data.push_back(d.backup.key);
        if (d.backup.complete) manifests.push_back(manifest_key(d.backup.key));
    }
    if (dry_run) return outcome;
    remove_in_batches(store, data);
    remove_in_batches(store, manifests);
    outcome.deleted = data.size();
    return outcome;
}

}  // namespace backhaul
