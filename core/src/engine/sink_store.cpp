#include "engine/sink_store.hpp"

#include "errors.hpp"

namespace backhaul {

std::vector<StoredObject> SinkStore::list(const std::string& prefix) {
    std::vector<StoredObject> objects;
    sink_.list(prefix, [&](const StoredObject& object) {
        objects.push_back(object);
        return true;
    });
    return objects;
}

StoredObject SinkStore::stat(const std::string& key) { return sink_.stat(key); }

std::string SinkStore::read_all(const std::string& key, size_t max_bytes) {
    ObjectReaderHandle reader = sink_.open_read(key);
    std::string data;
    uint8_t buffer[65536];
    while (size_t len = reader.read(buffer)) {
        data.append(reinterpret_cast<const char*>(buffer), len);
        if (data.size() > max_bytes)
            sink_.fail("read", "object '" + key + "' is larger than " + std::to_string(max_bytes) + " bytes");
    }
    return data;
}

void SinkStore::put(const std::string& key, std::string_view data) {
    UploadHandle upload = sink_.begin(key);
    upload.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    upload.commit();
}

void SinkStore::remove(const std::vector<std::string>& keys) {
    if (!keys.empty()) sink_.remove(keys);
}

}  // namespace backhaul
