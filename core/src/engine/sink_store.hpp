// The sink's object-store side (list, read, small writes, remove) as C++ calls on the main thread, for manifests,
// `list`, `verify` and retention. Works over the sink ABI only, so every sink gets these features; sinks paginate
// their listings internally.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/pipeline_plan.hpp"
#include "engine/plugin_instance.hpp"

namespace backhaul {

class SinkStore {
  public:
    // `sink` is an instance of `destination`, the sink of the pipeline whose objects this store reads and writes.
    SinkStore(const SinkPlan& destination, PluginInstance& sink) : destination_(destination), sink_(sink) {}

    // Every committed object whose key starts with `prefix`. Failures throw StageFailure (a RunError).
    std::vector<StoredObject> list(const std::string& prefix);
    // The object's size and time as the sink's stat reports them. Throws RunError naming the key.
    StoredObject stat(const std::string& key);
    // The whole object, refusing objects larger than `max_bytes`. Throws RunError naming the key.
    std::string read_all(const std::string& key, size_t max_bytes);
    // Stores `data` under `key` as one upload (begin, write, commit; abort on failure). Throws RunError.
    void put(const std::string& key, std::string_view data);
    // Deletes `keys` (missing keys are not an error). Throws RunError.
    void remove(const std::vector<std::string>& keys);

    PluginInstance& instance() { return sink_; }
    const SinkPlan& destination() const { return destination_; }

  private:
    const SinkPlan& destination_;
    PluginInstance& sink_;
};

}  // namespace backhaul
