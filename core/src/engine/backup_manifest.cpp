#include "engine/backup_manifest.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "util/time_text.hpp"

namespace backhaul {

std::string BackupManifest::to_json() const {
    nlohmann::ordered_json j;
    j["format"] = kManifestFormat;
    j["pipeline"] = pipeline;
    j["destination"] = destination;
    j["key"] = key;
    j["started_at"] = utc_iso8601(started_unix_ms);
    j["finished_at"] = utc_iso8601(finished_unix_ms);
    j["started_unix_ms"] = started_unix_ms;
    j["finished_unix_ms"] = finished_unix_ms;
    j["duration_ms"] = duration_ms;
    j["raw_bytes"] = raw_bytes;
    j["stored_bytes"] = stored_bytes;
    j["sha256"] = sha256;
    nlohmann::ordered_json stage_list = nlohmann::ordered_json::array();
    for (const ManifestStage& s : stages) {
        nlohmann::ordered_json options = nlohmann::ordered_json::object();
        for (const auto& [name, value] : s.options) options[name] = value;
        stage_list.push_back({{"role", s.role}, {"plugin", s.plugin}, {"version", s.version}, {"options", options}});
    }
    j["stages"] = stage_list;
    j["variables"] = variables;
    j["backhaul_version"] = backhaul_version;
    return j.dump(2) + "\n";
}

namespace {

// Typed field access for the metadata objects; `what` ("manifest", "pending marker") names them in errors.
class JsonFields {
public:
    JsonFields(std::string_view text, const char* what) : what_(what) {
        j_ = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (j_.is_discarded() || !j_.is_object()) throw std::runtime_error(std::string(what_) + " is not a JSON object");
    }
    const nlohmann::json& json() const { return j_; }
    const nlohmann::json& field(const char* name) const {
        auto it = j_.find(name);
        if (it == j_.end()) throw std::runtime_error(std::string(what_) + " has no '" + name + "'");
        return *it;
    }
    std::string string(const char* name) const {
        const nlohmann::json& v = field(name);
        if (!v.is_string()) throw std::runtime_error(std::string(what_) + " field '" + name + "' is not a string");
        return v.get<std::string>();
    }
    int64_t integer(const char* name) const {
        const nlohmann::json& v = field(name);
        if (!v.is_number_integer())
            throw std::runtime_error(std::string(what_) + " field '" + name + "' is not an integer");
        return v.get<int64_t>();
    }
    void expect_format(const char* format) const {
        if (string("format") != format)
            throw std::runtime_error(std::string(what_) + " format '" + string("format") + "' is not " + format);
    }

private:
    const char* what_;
    nlohmann::json j_;
};

}  // namespace

BackupManifest BackupManifest::from_json(std::string_view text) {
    JsonFields fields(text, "manifest");
    const nlohmann::json& j = fields.json();
    auto string_field = [&](const char* name) { return fields.string(name); };
    auto integer_field = [&](const char* name) { return fields.integer(name); };
    fields.expect_format(kManifestFormat);
    BackupManifest m;
    m.pipeline = string_field("pipeline");
    if (auto it = j.find("destination"); it != j.end()) m.destination = fields.string("destination");
    m.key = string_field("key");
    m.started_unix_ms = integer_field("started_unix_ms");
    m.finished_unix_ms = integer_field("finished_unix_ms");
    m.duration_ms = integer_field("duration_ms");
    const int64_t raw = integer_field("raw_bytes"), stored = integer_field("stored_bytes");
    if (raw < 0 || stored < 0) throw std::runtime_error("manifest sizes must not be negative");
    m.raw_bytes = static_cast<uint64_t>(raw);
    m.stored_bytes = static_cast<uint64_t>(stored);
    m.sha256 = string_field("sha256");
    if (auto it = j.find("backhaul_version"); it != j.end() && it->is_string()) m.backhaul_version = *it;
    if (auto it = j.find("variables"); it != j.end() && it->is_object())
        for (const auto& [name, value] : it->items())
            if (value.is_string()) m.variables[name] = value.get<std::string>();
    if (auto it = j.find("stages"); it != j.end() && it->is_array()) {
        for (const nlohmann::json& s : *it) {
            if (!s.is_object()) continue;
            ManifestStage stage;
            stage.role = s.value("role", "");
            stage.plugin = s.value("plugin", "");
            stage.version = s.value("version", "");
            if (auto o = s.find("options"); o != s.end() && o->is_object())
                for (const auto& [name, value] : o->items())
                    if (value.is_string()) stage.options.emplace_back(name, value.get<std::string>());
            m.stages.push_back(std::move(stage));
        }
    }
    return m;
}

std::string PendingMarker::to_json() const {
    nlohmann::ordered_json j;
    j["format"] = kPendingFormat;
    j["pipeline"] = pipeline;
    j["destination"] = destination;
    j["key"] = key;
    j["started_at"] = utc_iso8601(started_unix_ms);
    j["started_unix_ms"] = started_unix_ms;
    return j.dump(2) + "\n";
}

PendingMarker PendingMarker::from_json(std::string_view text) {
    JsonFields fields(text, "pending marker");
    fields.expect_format(kPendingFormat);
    PendingMarker m;
    m.pipeline = fields.string("pipeline");
    m.destination = fields.string("destination");
    m.key = fields.string("key");
    m.started_unix_ms = fields.integer("started_unix_ms");
    return m;
}

std::string manifest_key(const std::string& data_key) { return data_key + std::string(kManifestSuffix); }
std::string pending_key(const std::string& data_key) { return data_key + std::string(kPendingSuffix); }

bool is_manifest_key(std::string_view key) {
    return key.size() > kManifestSuffix.size() && key.ends_with(kManifestSuffix);
}
bool is_pending_key(std::string_view key) { return key.size() > kPendingSuffix.size() && key.ends_with(kPendingSuffix); }
bool is_metadata_key(std::string_view key) { return is_manifest_key(key) || is_pending_key(key); }

std::string data_key_of(std::string_view metadata_key) {
    size_t suffix = is_manifest_key(metadata_key) ? kManifestSuffix.size() : kPendingSuffix.size();
    return std::string(metadata_key.substr(0, metadata_key.size() - suffix));
}

}  // namespace backhaul
