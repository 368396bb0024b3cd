#include "engine/backup_manifest.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "util/time_text.hpp"

namespace backhaul {

std::string BackupManifest::to_json() const {
    nlohmann::ordered_json j;
    j["format"] = kManifestFormat;
    j["pipeline"] = pipeline;
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

BackupManifest BackupManifest::from_json(std::string_view text) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw std::runtime_error("manifest is not a JSON object");
    auto field = [&](const char* name) -> const nlohmann::json& {
        auto it = j.find(name);
        if (it == j.end()) throw std::runtime_error(std::string("manifest has no '") + name + "'");
        return *it;
    };
    auto string_field = [&](const char* name) {
        const nlohmann::json& v = field(name);
        if (!v.is_string()) throw std::runtime_error(std::string("manifest field '") + name + "' is not a string");
        return v.get<std::string>();
    };
    auto integer_field = [&](const char* name) {
        const nlohmann::json& v = field(name);
        if (!v.is_number_integer())
            throw std::runtime_error(std::string("manifest field '") + name + "' is not an integer");
        return v.get<int64_t>();
    };
    if (string_field("format") != kManifestFormat)
        throw std::runtime_error("manifest format '" + string_field("format") + "' is not " + kManifestFormat);
    BackupManifest m;
    m.pipeline = string_field("pipeline");
    m.key = string_field("key");
    m.started_unix_ms = integer_field("started_unix_ms");
    m.finished_unix_ms = integer_field("finished_unix_ms");
    m.duration_ms = integer_field("duration_ms");
    m.raw_bytes = static_cast<uint64_t>(integer_field("raw_bytes"));
    m.stored_bytes = static_cast<uint64_t>(integer_field("stored_bytes"));
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

std::string manifest_key(const std::string& data_key) { return data_key + std::string(kManifestSuffix); }

bool is_manifest_key(std::string_view key) {
    return key.size() > kManifestSuffix.size() && key.ends_with(kManifestSuffix);
}

}  // namespace backhaul
