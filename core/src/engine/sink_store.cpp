#include "engine/sink_store.hpp"

#include <memory>

#include "errors.hpp"

namespace backhaul {

std::vector<StoredObject> SinkStore::list(const std::string& prefix) {
    std::vector<StoredObject> objects;
    auto emit = [](void* ctx, const bh_object_info* info) -> int32_t {
        if (info && info->key) {
            static_cast<std::vector<StoredObject>*>(ctx)->push_back(
                StoredObject{info->key, info->size, info->mtime_unix_ms});
        }
        return 0;
    };
    bh_status status = api_.list(sink_.handle(), prefix.c_str(), emit, &objects);
    sink_.check(status, prefix.empty() ? std::string("list") : "list '" + prefix + "'");
    return objects;
}

StoredObject SinkStore::stat(const std::string& key) {
    bh_object_info info{};
    info.struct_size = sizeof info;
    bh_status status = api_.stat(sink_.handle(), key.c_str(), &info);
    if (status != BH_OK) throw RunError(sink_.error_line(status, "stat '" + key + "'"));
    return StoredObject{info.key ? info.key : key, info.size, info.mtime_unix_ms};
}

std::string SinkStore::read_all(const std::string& key, size_t max_bytes) {
    void* raw = nullptr;
    bh_status status = api_.open_read(sink_.handle(), key.c_str(), &raw);
    if (status != BH_OK) throw RunError(sink_.error_line(status, "read '" + key + "'"));
    std::unique_ptr<void, void (*)(void*)> reader(raw, api_.close_read);
    std::string data;
    uint8_t buffer[65536];
    for (;;) {
        size_t len = 0;
        status = api_.read(reader.get(), buffer, sizeof buffer, &len);
        if (status == BH_END_OF_STREAM) break;
        if (status != BH_OK) throw RunError(sink_.error_line(status, "read '" + key + "'"));
        data.append(reinterpret_cast<const char*>(buffer), len);
        if (data.size() > max_bytes)
            throw RunError(sink_.label() + ": object '" + key + "' is larger than " + std::to_string(max_bytes) +
                           " bytes");
    }
    return data;
}

void SinkStore::put(const std::string& key, std::string_view data) {
    void* raw = nullptr;
    bh_status status = api_.begin(sink_.handle(), key.c_str(), nullptr, 0, &raw);
    if (status != BH_OK) throw RunError(sink_.error_line(status, "begin '" + key + "'"));
    std::unique_ptr<void, void (*)(void*)> upload(raw, api_.abort);
    status = api_.write(upload.get(), reinterpret_cast<const uint8_t*>(data.data()), data.size());
    if (status != BH_OK) throw RunError(sink_.error_line(status, "write '" + key + "'"));
    status = api_.commit(upload.release());
    if (status != BH_OK) throw RunError(sink_.error_line(status, "commit '" + key + "'"));
}

void SinkStore::remove(const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    std::vector<const char*> raw;
    for (const std::string& k : keys) raw.push_back(k.c_str());
    bh_status status = api_.remove(sink_.handle(), raw.data(), static_cast<uint32_t>(raw.size()));
    sink_.check(status, "remove");
}

}  // namespace backhaul
