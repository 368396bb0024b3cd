#include "loader/plugin_handle.hpp"

#include <cassert>
#include <cstddef>
#include <set>
#include <stdexcept>

#include "util/stream_name.hpp"

namespace backhaul {

std::string status_name(bh_status status) {
    switch (status) {
        case BH_OK:
            return "ok";
        case BH_END_OF_STREAM:
            return "end of stream";
        case BH_RETRYABLE:
            return "retryable";
        case BH_FATAL:
            return "fatal";
        case BH_CANCELLED:
            return "cancelled";
        case BH_INVALID_CONFIG:
            return "invalid configuration";
        default:
            return "status " + std::to_string(status);
    }
}

namespace detail {

OwnedHandle::OwnedHandle(PluginHandle& owner, void* raw) : owner_(&owner), raw_(raw) { ++owner.open_handles_; }

OwnedHandle::~OwnedHandle() {
    // Every derived destructor released its handle already; this only catches a handle a subclass forgot.
    assert(raw_ == nullptr && "a plugin handle was not released");
}

void* OwnedHandle::release() {
    void* raw = std::exchange(raw_, nullptr);
    if (raw) --owner_->open_handles_;
    return raw;
}

void OwnedHandle::check(bh_status status, std::string_view call, std::string_view what) const {
    owner_->check(status, call, what);
}

}  // namespace detail

namespace {

void require_open(bool open, const char* what) {
    if (!open) throw std::logic_error(std::string(what) + " is not open");
}

// A read into `buffer` through a C read function with END_OF_STREAM at the end (source streams, object readers):
// returns 0 only at the end. A read that returns no bytes and no end is repeated, unless the run is cancelled.
template <class Read>
size_t read_chunk(const PluginHandle& owner, const InstanceHost& host, Read read, std::span<uint8_t> buffer,
                  std::string_view what) {
    for (;;) {
        size_t len = 0;
        bh_status status = read(buffer.data(), buffer.size(), &len);
        if (status == BH_END_OF_STREAM) return 0;
        owner.check(status, "read", what);
        if (len > buffer.size()) owner.fail("read", "read returned more bytes than asked for");
        if (len > 0) return len;
        if (host.cancelled())
            throw StageFailure(StageError{owner.label(), owner.kind(), "read", BH_CANCELLED, "cancelled"});
    }
}

}  // namespace

// ---- Source -------------------------------------------------------------------------------------------------------

size_t SourceStreamHandle::read(std::span<uint8_t> buffer) {
    require_open(is_open(), "source stream");
    const bh_source_api& api = owner_->source_api();
    return read_chunk(*owner_, owner_->host_,
                      [&](uint8_t* data, size_t capacity, size_t* len) { return api.read(raw_, data, capacity, len); },
                      buffer, {});
}

void SourceStreamHandle::close() noexcept {
    if (void* raw = release()) owner_->source_api().close(raw);
}

void RestoreTargetHandle::write(std::span<const uint8_t> data) {
    require_open(is_open(), "restore target");
    check(owner_->source_api().restore_write(raw_, data.data(), data.size()), "restore_write", "restore");
}

void RestoreTargetHandle::finish() {
    require_open(is_open(), "restore target");
    const bh_source_api& api = owner_->source_api();
    check(api.restore_finish(release()), "restore_finish", "restore");
}

void RestoreTargetHandle::abort() noexcept {
    if (void* raw = release()) owner_->source_api().restore_abort(raw);
}

// ---- Transform ----------------------------------------------------------------------------------------------------

void TransformStreamHandle::write(std::span<const uint8_t> data) {
    require_open(is_open(), "transform stream");
    check(owner_->transform_api().write(raw_, data.data(), data.size()), "write");
}

void TransformStreamHandle::finish() {
    require_open(is_open(), "transform stream");
    check(owner_->transform_api().finish(raw_), "finish");
}

void TransformStreamHandle::close() noexcept {
    if (void* raw = release()) owner_->transform_api().close(raw);
}

// ---- Sink ---------------------------------------------------------------------------------------------------------

void UploadHandle::write(std::span<const uint8_t> data) {
    require_open(is_open(), "upload");
    check(owner_->sink_api().write(raw_, data.data(), data.size()), "write");
}

void UploadHandle::commit() {
    require_open(is_open(), "upload");
    const bh_sink_api& api = owner_->sink_api();
    check(api.commit(release()), "commit", "commit '" + key_ + "'");
}

void UploadHandle::abort() noexcept {
    if (void* raw = release()) owner_->sink_api().abort(raw);
}

size_t ObjectReaderHandle::read(std::span<uint8_t> buffer) {
    require_open(is_open(), "object reader");
    const bh_sink_api& api = owner_->sink_api();
    return read_chunk(
        *owner_, owner_->host_,
        [&](uint8_t* data, size_t capacity, size_t* len) { return api.read(raw_, data, capacity, len); }, buffer,
        "read '" + key_ + "'");
}

void ObjectReaderHandle::close() noexcept {
    if (void* raw = release()) owner_->sink_api().close_read(raw);
}

// ---- The instance -------------------------------------------------------------------------------------------------

PluginHandle::PluginHandle(const bh_plugin_descriptor& plugin, std::string stage, InstanceHost& host,
                           std::span<const bh_option_value> options)
    : plugin_(plugin), stage_(std::move(stage)), host_(host) {
    void* instance = nullptr;
    bh_status status = plugin_.create(host_.raw(), options.data(), static_cast<uint32_t>(options.size()), &instance);
    if (status == BH_OK && instance == nullptr) status = BH_FATAL;  // nothing to call or destroy: unusable
    if (status != BH_OK) throw StageFailure(error(status, "create"));
    instance_ = instance;
}

PluginHandle::~PluginHandle() {
    assert(open_handles_ == 0 && "a handle outlived its plugin instance");
    plugin_.destroy(instance_);
}

StageError PluginHandle::error(bh_status status, std::string_view call, std::string_view what) const {
    std::string message = host_.take_error();
    if (message.empty()) message = std::string(what.empty() ? call : what) + " failed (" + status_name(status) + ")";
    return StageError{stage_, kind(), std::string(call), status, std::move(message)};
}

void PluginHandle::check(bh_status status, std::string_view call, std::string_view what) const {
    if (status != BH_OK) throw StageFailure(error(status, call, what));
}

void PluginHandle::fail(std::string_view call, std::string message) const {
    throw StageFailure(StageError{stage_, kind(), std::string(call), BH_FATAL, std::move(message)});
}

namespace {
template <class Table>
const Table& table(const Table* api, const char* kind) {
    if (api == nullptr) throw std::logic_error(std::string("plugin is not a ") + kind);
    return *api;
}
}  // namespace

const bh_secret_api& PluginHandle::secret_api() const { return table(plugin_.secret, "secret"); }
const bh_source_api& PluginHandle::source_api() const { return table(plugin_.source, "source"); }
const bh_transform_api& PluginHandle::transform_api() const { return table(plugin_.transform, "transform"); }
const bh_sink_api& PluginHandle::sink_api() const { return table(plugin_.sink, "sink"); }
const bh_notifier_api& PluginHandle::notifier_api() const { return table(plugin_.notifier, "notifier"); }

bool PluginHandle::has_check() const { return built_for_abi_minor(plugin_, 2) && plugin_.check != nullptr; }

void PluginHandle::check_live(const std::string& probe_key,
                              const std::function<void(const PluginCheckLine&)>& on_line) {
    if (!has_check()) throw std::logic_error(stage_ + " has no check entry");
    auto result = [](void* ctx, const char* name, int32_t ok, const char* detail, const char* fix) {
        (*static_cast<const std::function<void(const PluginCheckLine&)>*>(ctx))(
            PluginCheckLine{name ? name : "check", ok != 0, detail ? detail : "", fix ? fix : ""});
    };
    const bh_check_sink sink{const_cast<std::function<void(const PluginCheckLine&)>*>(&on_line), result,
                             probe_key.empty() ? nullptr : probe_key.c_str()};
    check(plugin_.check(instance_, &sink), "check");
}

void PluginHandle::fetch(const std::function<void(std::string_view, std::string_view)>& emit) {
    using Emit = std::function<void(std::string_view, std::string_view)>;
    auto field = [](void* ctx, const char* name, const char* value, size_t len) {
        (*static_cast<const Emit*>(ctx))(name ? name : "", std::string_view(value ? value : "", value ? len : 0));
    };
    check(secret_api().fetch(instance_, field, const_cast<Emit*>(&emit)), "fetch");
}

SourceStreamHandle PluginHandle::open_source() {
    const bh_source_api& api = source_api();
    void* stream = nullptr;
    check(api.open(instance_, &stream), "open");
    return SourceStreamHandle(*this, stream);
}

RestoreTargetHandle PluginHandle::open_restore(std::span<const bh_option_value> restore_options) {
    const bh_source_api& api = source_api();
    void* target = nullptr;
    check(api.restore_open(instance_, restore_options.data(), static_cast<uint32_t>(restore_options.size()), &target),
          "restore_open", "restore");
    return RestoreTargetHandle(*this, target);
}

namespace {
bool has_set_entries(const bh_source_api& api) {
    return api.struct_size >= offsetof(bh_source_api, restore_open_stream) + sizeof(api.restore_open_stream) &&
           api.produces_set != nullptr;
}
}  // namespace

bool produces_set(const bh_plugin_descriptor& plugin, std::span<const bh_option_value> options) {
    if (plugin.kind != BH_KIND_SOURCE || plugin.source == nullptr || !has_set_entries(*plugin.source)) return false;
    return plugin.source->produces_set(options.data(), static_cast<uint32_t>(options.size())) != 0;
}

std::vector<SetStream> PluginHandle::list_streams() {
    const bh_source_api& api = source_api();
    if (!has_set_entries(api)) throw std::logic_error("list_streams on a source without sets");
    std::vector<SetStream> streams;
    auto emit = [](void* ctx, const bh_stream_info* info) -> int32_t {
        SetStream stream;
        stream.name = info->name ? info->name : "";
        stream.ext = info->ext ? info->ext : "";
        for (uint32_t i = 0; i < info->variable_count; ++i)
            stream.variables[info->variables[i].key ? info->variables[i].key : ""] =
                info->variables[i].value ? info->variables[i].value : "";
        stream.restore_phase = info->restore_phase;
        static_cast<std::vector<SetStream>*>(ctx)->push_back(std::move(stream));
        return 0;
    };
    check(api.list_streams(instance_, emit, &streams), "list_streams");
    std::set<std::string> names;
    for (const SetStream& stream : streams) {
        if (std::string problem = stream_name_problem(stream.name); !problem.empty())
            fail("list_streams", "stream name '" + stream.name + "' " + problem);
        if (!names.insert(stream.name).second) fail("list_streams", "two streams named '" + stream.name + "'");
    }
    if (streams.empty()) fail("list_streams", "the set has no streams");
    return streams;
}

SourceStreamHandle PluginHandle::open_stream(const std::string& name) {
    const bh_source_api& api = source_api();
    if (!has_set_entries(api)) throw std::logic_error("open_stream on a source without sets");
    void* stream = nullptr;
    check(api.open_stream(instance_, name.c_str(), &stream), "open_stream", "open stream '" + name + "'");
    return SourceStreamHandle(*this, stream);
}

RestoreTargetHandle PluginHandle::open_restore_stream(const SetStream& stream,
                                                      std::span<const bh_option_value> restore_options) {
    const bh_source_api& api = source_api();
    if (!has_set_entries(api)) throw std::logic_error("open_restore_stream on a source without sets");
    std::vector<bh_kv> variables;
    for (const auto& [key, value] : stream.variables) variables.push_back(bh_kv{key.c_str(), value.c_str()});
    const bh_stream_info info{sizeof(bh_stream_info),
                              stream.name.c_str(),
                              stream.ext.c_str(),
                              variables.data(),
                              static_cast<uint32_t>(variables.size()),
                              stream.restore_phase};
    void* target = nullptr;
    check(api.restore_open_stream(instance_, &info, restore_options.data(),
                                  static_cast<uint32_t>(restore_options.size()), &target),
          "restore_open_stream", "restore stream '" + stream.name + "'");
    return RestoreTargetHandle(*this, target);
}

TransformStreamHandle PluginHandle::open_transform(bh_direction direction, const bh_output& output) {
    const bh_transform_api& api = transform_api();
    void* stream = nullptr;
    check(api.open(instance_, direction, &output, &stream), "open");
    return TransformStreamHandle(*this, stream);
}

UploadHandle PluginHandle::begin(const std::string& key, std::span<const bh_kv> metadata) {
    const bh_sink_api& api = sink_api();
    void* upload = nullptr;
    check(api.begin(instance_, key.c_str(), metadata.data(), static_cast<uint32_t>(metadata.size()), &upload), "begin",
          "begin '" + key + "'");
    return UploadHandle(*this, upload, key);
}

ObjectReaderHandle PluginHandle::open_read(const std::string& key) {
    const bh_sink_api& api = sink_api();
    void* reader = nullptr;
    check(api.open_read(instance_, key.c_str(), &reader), "open_read", "read '" + key + "'");
    return ObjectReaderHandle(*this, reader, key);
}

void PluginHandle::list(const std::string& prefix, const std::function<bool(const StoredObject&)>& emit) {
    using Emit = std::function<bool(const StoredObject&)>;
    auto each = [](void* ctx, const bh_object_info* info) -> int32_t {
        if (!info || !info->key) return 0;
        return (*static_cast<const Emit*>(ctx))(StoredObject{info->key, info->size, info->mtime_unix_ms}) ? 0 : 1;
    };
    check(sink_api().list(instance_, prefix.c_str(), each, const_cast<Emit*>(&emit)), "list",
          prefix.empty() ? std::string("list") : "list '" + prefix + "'");
}

StoredObject PluginHandle::stat(const std::string& key) {
    bh_object_info info{};
    info.struct_size = sizeof info;
    check(sink_api().stat(instance_, key.c_str(), &info), "stat", "stat '" + key + "'");
    return StoredObject{info.key ? info.key : key, info.size, info.mtime_unix_ms};
}

void PluginHandle::remove(std::span<const std::string> keys) {
    std::vector<const char*> raw;
    raw.reserve(keys.size());
    for (const std::string& k : keys) raw.push_back(k.c_str());
    check(sink_api().remove(instance_, raw.data(), static_cast<uint32_t>(raw.size())), "remove");
}

void PluginHandle::notify(const bh_run_event& event) { check(notifier_api().notify(instance_, &event), "notify"); }

bh_status validate_options(const bh_plugin_descriptor& plugin, std::span<const bh_option_value> options,
                           const std::function<void(std::string_view option, std::string_view message)>& report) {
    if (!built_for_abi_minor(plugin, 2) || plugin.validate == nullptr) return BH_OK;
    using Report = std::function<void(std::string_view, std::string_view)>;
    const bh_problem_sink sink{const_cast<Report*>(&report), [](void* ctx, const char* option, const char* message) {
                                   (*static_cast<const Report*>(ctx))(option ? option : "",
                                                                      message ? message : "invalid configuration");
                               }};
    return plugin.validate(options.data(), static_cast<uint32_t>(options.size()), &sink);
}

}  // namespace backhaul
