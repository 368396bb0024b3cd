#include "engine/retention_apply.hpp"

#include "engine/backup_catalog.hpp"

namespace backhaul {
namespace {

// Sinks take any count, but S3-style bulk deletes are 1000 keys at most: keep each call within that.
constexpr size_t kRemoveBatch = 1000;

void remove_in_batches(SinkStore& store, const std::vector<std::string>& keys) {
    for (size_t i = 0; i < keys.size(); i += kRemoveBatch)
        store.remove(std::vector<std::string>(
            keys.begin() + static_cast<std::ptrdiff_t>(i),
            keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + kRemoveBatch))));
}

}  // namespace

RetentionScope retention_scope(const PipelinePlan& plan, std::optional<std::map<std::string, std::string>> identity,
                               bool delete_incomplete) {
    RetentionScope scope;
    scope.identity = std::move(identity);
    scope.delete_incomplete = delete_incomplete;
    scope.shrink_threshold = plan.spec.shrink_threshold;
    return scope;
}

RetentionOutcome apply_retention(const PipelinePlan& plan, const RetentionPolicy& policy, SinkStore& store,
                                 std::chrono::system_clock::time_point now, const RetentionScope& scope, bool dry_run) {
    BackupCatalog catalog = list_backups(plan, store);
    RetentionOutcome outcome;
    outcome.plan = plan_retention(catalog, policy, TimeZone::load(plan.spec.timezone), now, scope);
    if (dry_run) return outcome;
    // All data first, then the metadata; a failed batch stops the rest (remove throws).
    RetentionPlan::Deletions deletions = outcome.plan.deletions();
    remove_in_batches(store, deletions.data);
    remove_in_batches(store, deletions.metadata);
    for (const RetentionDecision& d : outcome.plan.backups)
        if (!d.keep) ++outcome.deleted;
    for (const OrphanDecision& d : outcome.plan.orphans)
        if (!d.keep) ++outcome.orphans_deleted;
    return outcome;
}

}  // namespace backhaul
