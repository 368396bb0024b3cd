#include "engine/backup_manifest.hpp"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "util/stream_name.hpp"
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
    if (is_set()) {
        j["format"] = kSetManifestFormat;
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const ManifestObject& o : objects)
            list.push_back({{"stream", o.stream},
                            {"key", o.key},
                            {"ext", o.ext},
                            {"raw_bytes", o.raw_bytes},
                            {"stored_bytes", o.stored_bytes},
                            {"sha256", o.sha256},
                            {"variables", o.variables},
                            {"restore_phase", o.restore_phase}});
        j["objects"] = list;
    }
    return j.dump(2) + "\n";
}

namespace {

// Typed field access for the metadata objects; `what` ("manifest", "pending marker") names them in errors.
class JsonFields {
  public:
    JsonFields(std::string_view text, const char* what)
        : JsonFields(nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false), what) {}
    // A value already parsed, e.g. one entry of a list.
    JsonFields(nlohmann::json value, const char* what) : what_(what), j_(std::move(value)) {
        if (j_.is_discarded() || !j_.is_object())
            throw std::runtime_error(std::string(what_) + " is not a JSON object");
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
    // An optional field: absent gives "", present it must be a string (a wrong type is damage, not a default).
    std::string optional_string(const char* name) const { return j_.contains(name) ? string(name) : std::string(); }
    // A field that must be a JSON object of strings (variables, options).
    std::map<std::string, std::string> string_map(const char* name) const {
        const nlohmann::json& v = field(name);
        if (!v.is_object()) throw std::runtime_error(std::string(what_) + " field '" + name + "' is not an object");
        std::map<std::string, std::string> map;
        for (const auto& [key, value] : v.items()) {
            if (!value.is_string())
                throw std::runtime_error(std::string(what_) + " field '" + name + "." + key + "' is not a string");
            map[key] = value.get<std::string>();
        }
        return map;
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
    uint64_t size(const char* name) const {
        const int64_t value = integer(name);
        if (value < 0) throw std::runtime_error(std::string(what_) + " field '" + name + "' is negative");
        return static_cast<uint64_t>(value);
    }

  private:
    const char* what_;
    nlohmann::json j_;
};

}  // namespace

namespace {

// An object key a set's metadata names: under "<set key>/", nothing else (no "..": keys are names, not paths, but a
// sink on a file system must not be walked out of the set).
void check_set_member(const std::string& set_key, const std::string& key, const char* what) {
    const std::string prefix = set_key + "/";
    if (key.size() <= prefix.size() || !key.starts_with(prefix))
        throw std::runtime_error(std::string(what) + " names object '" + key + "' outside its set '" + set_key + "'");
    // Below the set key, the rule of stream names: the key was built from one.
    if (!stream_name_problem(std::string_view(key).substr(prefix.size())).empty())
        throw std::runtime_error(std::string(what) + " names malformed object key '" + key + "'");
}

bool is_sha256_hex(const std::string& text) {
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::vector<ManifestObject> set_objects(const nlohmann::json& list, const std::string& set_key) {
    if (!list.is_array() || list.empty()) throw std::runtime_error("manifest field 'objects' is not a non-empty array");
    std::vector<ManifestObject> objects;
    std::set<std::string> streams, keys;
    for (const nlohmann::json& item : list) {
        JsonFields fields(item, "manifest object");
        ManifestObject o;
        o.stream = fields.string("stream");
        if (std::string problem = stream_name_problem(o.stream); !problem.empty())
            throw std::runtime_error("manifest object stream name '" + o.stream + "' " + problem);
        o.key = fields.string("key");
        check_set_member(set_key, o.key, "manifest");
        o.ext = fields.string("ext");
        o.raw_bytes = fields.size("raw_bytes");
        o.stored_bytes = fields.size("stored_bytes");
        o.sha256 = fields.string("sha256");
        if (!is_sha256_hex(o.sha256))
            throw std::runtime_error("manifest object '" + o.key + "' has a malformed sha256");
        for (auto& [name, value] : fields.string_map("variables")) o.variables[name] = std::move(value);
        const int64_t phase = fields.integer("restore_phase");
        if (phase < INT32_MIN || phase > INT32_MAX)
            throw std::runtime_error("manifest object restore_phase is out of range");
        o.restore_phase = static_cast<int32_t>(phase);
        if (!streams.insert(o.stream).second)
            throw std::runtime_error("manifest lists stream '" + o.stream + "' twice");
        if (!keys.insert(o.key).second) throw std::runtime_error("manifest lists object '" + o.key + "' twice");
        objects.push_back(std::move(o));
    }
    return objects;
}

}  // namespace

BackupManifest BackupManifest::from_json(std::string_view text) {
    JsonFields fields(text, "manifest");
    const nlohmann::json& j = fields.json();
    auto string_field = [&](const char* name) { return fields.string(name); };
    auto integer_field = [&](const char* name) { return fields.integer(name); };
    const bool is_set = fields.string("format") == kSetManifestFormat;
    if (!is_set) fields.expect_format(kManifestFormat);
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
            JsonFields stage_fields(s, "manifest stage");
            ManifestStage stage;
            stage.role = stage_fields.optional_string("role");
            stage.plugin = stage_fields.optional_string("plugin");
            stage.version = stage_fields.optional_string("version");
            if (auto o = s.find("options"); o != s.end() && o->is_object())
                for (const auto& [name, value] : o->items())
                    if (value.is_string()) stage.options.emplace_back(name, value.get<std::string>());
            m.stages.push_back(std::move(stage));
        }
    }
    if (is_set) m.objects = set_objects(fields.field("objects"), m.key);
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
    if (!objects.empty()) j["objects"] = objects;
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
    if (auto it = fields.json().find("objects"); it != fields.json().end()) {
        if (!it->is_array()) throw std::runtime_error("pending marker field 'objects' is not an array");
        for (const nlohmann::json& key : *it) {
            if (!key.is_string()) throw std::runtime_error("pending marker object is not a string");
            check_set_member(m.key, key.get<std::string>(), "pending marker");
            m.objects.push_back(key.get<std::string>());
        }
    }
    return m;
}

std::string encoded_stream_name(const std::string& stream_name) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string encoded;
    for (unsigned char c : stream_name) {
        const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                           c == '_' || c == '-' || c == '/';
        if (plain) {
            encoded += static_cast<char>(c);
            continue;
        }
        encoded += '%';
        encoded += kHex[c >> 4];
        encoded += kHex[c & 0xf];
    }
    return encoded;
}

std::string stream_object_key(const std::string& set_key, const std::string& stream_name, const std::string& ext) {
    return set_key + "/" + encoded_stream_name(stream_name) + ext;
}

std::string manifest_key(const std::string& data_key) { return data_key + std::string(kManifestSuffix); }
std::string pending_key(const std::string& data_key) { return data_key + std::string(kPendingSuffix); }

bool is_manifest_key(std::string_view key) {
    return key.size() > kManifestSuffix.size() && key.ends_with(kManifestSuffix);
}
bool is_pending_key(std::string_view key) {
    return key.size() > kPendingSuffix.size() && key.ends_with(kPendingSuffix);
}
bool is_metadata_key(std::string_view key) { return is_manifest_key(key) || is_pending_key(key); }

std::string data_key_of(std::string_view metadata_key) {
    size_t suffix = is_manifest_key(metadata_key) ? kManifestSuffix.size() : kPendingSuffix.size();
    return std::string(metadata_key.substr(0, metadata_key.size() - suffix));
}

}  // namespace backhaul
