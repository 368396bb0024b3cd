// Drives one built plugin directly through the C ABI, without the engine: loads the .so with the core's loader, fakes
// the host, builds option values, and calls the plugin through the core's own adapter (loader/plugin_handle.hpp),
// whose handles are RAII, so a failing assertion never leaks a stream. Calls report the bh_status the plugin
// returned, the way tests assert them. Header-only, for plugin tests.
//
//   backhaul::harness::Plugin gzip("compress-gzip");
//   backhaul::harness::Instance gz(gzip, {{"level", 9}});
//   ASSERT_EQ(gz.create_status(), BH_OK) << gz.last_error();
//   backhaul::harness::StreamResult packed = gz.transform(BH_ENCODE, "hello");
#pragma once

#include <backhaul/plugin_abi.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/option_binding.hpp"
#include "loader/plugin_handle.hpp"
#include "loader/plugin_registry.hpp"

namespace backhaul::harness {

// ---- Loading ------------------------------------------------------------------------------------------------------

// A plugin library from the build tree, loaded and its descriptor checked as the core does. Never unloaded: the core
// keeps libraries for the life of the process too, and a test must see the same behaviour.
class Plugin {
  public:
    explicit Plugin(const std::string& name) : path_(std::string(BACKHAUL_PLUGIN_BUILD_DIR) + "/" + name + ".so") {
        registry_.load_file(path_);
        descriptor_ = registry_.plugins().front()->descriptor;
    }
    const bh_plugin_descriptor& descriptor() const { return *descriptor_; }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    PluginRegistry registry_;
    const bh_plugin_descriptor* descriptor_ = nullptr;
};

// ---- Fake host ----------------------------------------------------------------------------------------------------

struct LogLine {
    bh_log_level level;
    std::string message;
};

// Records everything a plugin tells its host. Any thread may call in, as the ABI allows.
class FakeHost : public InstanceHost {
  public:
    // `memory_share`: what bh_host.memory_share answers, as the core's StagePlan::memory_share would.
    explicit FakeHost(uint64_t memory_share = 0) : memory_share_(memory_share) {
        host_.struct_size = sizeof(bh_host);
        host_.memory_share = [](void* ctx) -> uint64_t { return static_cast<FakeHost*>(ctx)->memory_share_; };
        host_.ctx = this;
        host_.log = [](void* ctx, bh_log_level level, const char* message) {
            auto* self = static_cast<FakeHost*>(ctx);
            std::lock_guard lock(self->mutex_);
            self->log_.push_back({level, message});
        };
        host_.is_cancelled = [](void* ctx) -> int32_t {
            return static_cast<FakeHost*>(ctx)->cancelled_.load() ? 1 : 0;
        };
        host_.set_error = [](void* ctx, const char* message, const char* detail) {
            auto* self = static_cast<FakeHost*>(ctx);
            std::lock_guard lock(self->mutex_);
            self->error_ = message;
            self->pending_error_ = message;
            self->error_detail_ = detail ? detail : "";
            ++self->error_count_;
        };
        host_.set_variable = [](void* ctx, const char* name, const char* value) {
            auto* self = static_cast<FakeHost*>(ctx);
            std::lock_guard lock(self->mutex_);
            self->variables_[name] = value;
        };
    }
    FakeHost(const FakeHost&) = delete;  // host_.ctx points at this object
    FakeHost& operator=(const FakeHost&) = delete;

    const bh_host* raw() const override { return &host_; }
    // For the adapter: what set_error said since it last asked. last_error() keeps it for the test.
    std::string take_error() override {
        std::lock_guard lock(mutex_);
        return std::exchange(pending_error_, std::string());
    }
    void cancel() { cancelled_ = true; }

    std::string last_error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }
    std::string last_error_detail() const {
        std::lock_guard lock(mutex_);
        return error_detail_;
    }
    int error_count() const {
        std::lock_guard lock(mutex_);
        return error_count_;
    }
    std::map<std::string, std::string> variables() const {
        std::lock_guard lock(mutex_);
        return variables_;
    }
    std::vector<LogLine> log() const {
        std::lock_guard lock(mutex_);
        return log_;
    }
    // The messages logged at `level`, in order.
    std::vector<std::string> logged(bh_log_level level) const {
        std::lock_guard lock(mutex_);
        std::vector<std::string> lines;
        for (const LogLine& line : log_)
            if (line.level == level) lines.push_back(line.message);
        return lines;
    }

  private:
    const uint64_t memory_share_;
    bh_host host_{};
    std::atomic<bool> cancelled_{false};
    mutable std::mutex mutex_;
    std::string error_;
    std::string pending_error_;
    std::string error_detail_;
    int error_count_ = 0;
    std::map<std::string, std::string> variables_;
    std::vector<LogLine> log_;
};

// ---- Options ------------------------------------------------------------------------------------------------------

using Table = std::vector<std::pair<std::string, std::string>>;

// One option as a test writes it; the plugin's table decides how it is passed (a string for an ENUM, an int for a
// SIZE, ...).
struct OptionValue {
    enum class Kind { number, boolean, text, list, table } kind;
    int64_t number = 0;
    std::string text;
    std::vector<std::string> items;  // list items, or table key, value, key, value, ...

    OptionValue(int value) : kind(Kind::number), number(value) {}
    OptionValue(int64_t value) : kind(Kind::number), number(value) {}
    OptionValue(bool value) : kind(Kind::boolean), number(value ? 1 : 0) {}
    OptionValue(const char* value) : kind(Kind::text), text(value) {}
    OptionValue(std::string value) : kind(Kind::text), text(std::move(value)) {}
    OptionValue(std::vector<std::string> value) : kind(Kind::list), items(std::move(value)) {}
    OptionValue(const Table& value) : kind(Kind::table) {
        for (const auto& [key, val] : value) {
            items.push_back(key);
            items.push_back(val);
        }
    }
};

using OptionList = std::vector<std::pair<std::string, OptionValue>>;

// `base` with each option of `extra` replacing the one of the same name, or appended: a test's valid configuration
// with the one value it is about.
inline OptionList overridden(OptionList base, const OptionList& extra) {
    for (const auto& option : extra) {
        auto same = std::find_if(base.begin(), base.end(), [&](const auto& o) { return o.first == option.first; });
        if (same != base.end())
            *same = option;
        else
            base.push_back(option);
    }
    return base;
}

// bh_option_value array for one option table, owning every string it points to. Unset options get the table's default
// when it is one of the simple literal forms (integer, true/false, "quoted", [], {}); anything fancier must be given.
class OptionValues {
  public:
    OptionValues(const bh_option_spec* specs, uint32_t count, const OptionList& given) {
        for (const auto& [name, value] : given) {
            bool declared = false;
            for (uint32_t i = 0; i < count; ++i) declared = declared || name == specs[i].name;
            if (!declared) throw std::logic_error("test sets option '" + name + "' that the plugin does not declare");
        }
        storage_.reserve(count);
        values_.reserve(count);
        for (uint32_t i = 0; i < count; ++i) {
            const bh_option_spec& spec = specs[i];
            const OptionValue* chosen = nullptr;
            for (const auto& [name, value] : given)
                if (name == spec.name) chosen = &value;
            std::optional<OptionValue> fallback;
            if (!chosen && spec.default_value && !(spec.flags & BH_OPT_REQUIRED)) {
                fallback = parse_default(spec);
                chosen = &*fallback;
            }
            add(spec, chosen);
        }
    }
    OptionValues(const OptionValues&) = delete;  // values_ points into storage_
    OptionValues& operator=(const OptionValues&) = delete;

    const bh_option_value* data() const { return values_.data(); }
    uint32_t size() const { return static_cast<uint32_t>(values_.size()); }

    // Marks an option as the host passes it to `validate` when its value is built from an unfetched ${secret:...}.
    void defer(std::string_view name) {
        for (bh_option_value& value : values_)
            if (name == value.name) {
                value = bh_option_value{value.name, value.type, BH_VALUE_DEFERRED, nullptr, 0, nullptr, 0};
                return;
            }
        throw std::logic_error("test defers option '" + std::string(name) + "' that the plugin does not declare");
    }

  private:
    struct Stored {
        std::string text;
        std::vector<std::string> items;
        std::vector<const char*> pointers;
    };

    static OptionValue parse_default(const bh_option_spec& spec) {
        std::string literal = spec.default_value;
        switch (spec.type) {
            case BH_OPT_INT:
                return OptionValue(static_cast<int64_t>(std::stoll(literal)));
            // Sizes and durations convert exactly as the core converts them (integers: bytes and seconds).
            case BH_OPT_SIZE:
            case BH_OPT_DURATION: {
                bool quoted = literal.size() >= 2 && literal.front() == '"' && literal.back() == '"';
                std::string text = quoted ? literal.substr(1, literal.size() - 2) : literal;
                std::optional<int64_t> parsed;
                if (!quoted && spec.type == BH_OPT_DURATION)
                    parsed = static_cast<int64_t>(std::stoll(text)) * 1000;
                else if (spec.type == BH_OPT_SIZE)
                    parsed = ::backhaul::parse_size(text);
                else
                    parsed = ::backhaul::parse_duration(text);
                if (parsed) return OptionValue(*parsed);
                break;
            }
            case BH_OPT_BOOL:
                if (literal == "true" || literal == "false") return OptionValue(literal == "true");
                break;
            case BH_OPT_STRING:
            case BH_OPT_ENUM:
                if (literal.size() >= 2 && literal.front() == '"' && literal.back() == '"')
                    return OptionValue(literal.substr(1, literal.size() - 2));
                break;
            case BH_OPT_LIST:
                if (literal == "[]") return OptionValue(std::vector<std::string>{});
                break;
            case BH_OPT_TABLE:
                if (literal == "{}") return OptionValue(Table{});
                break;
        }
        throw std::logic_error("harness cannot parse default '" + literal + "' of option '" + spec.name + "'");
    }

    void add(const bh_option_spec& spec, const OptionValue* value) {
        Stored& stored = storage_.emplace_back();
        bh_option_value out{};
        out.name = spec.name;
        out.type = spec.type;
        if (value) {
            out.is_set = 1;
            stored.text = value->text;
            stored.items = value->items;
            for (const std::string& item : stored.items) stored.pointers.push_back(item.c_str());
            out.num = value->number;
            if (spec.type == BH_OPT_STRING || spec.type == BH_OPT_ENUM) out.str = stored.text.c_str();
            if (spec.type == BH_OPT_LIST || spec.type == BH_OPT_TABLE) {
                out.items = stored.pointers.data();
                out.item_count = static_cast<uint32_t>(stored.pointers.size());
            }
        }
        values_.push_back(out);
    }

    std::vector<Stored> storage_;  // reserved up front: pointers into it stay valid
    std::vector<bh_option_value> values_;
};

// ---- Results ------------------------------------------------------------------------------------------------------

// What a whole-stream operation produced: its final status, the bytes, and the error the plugin reported (if any).
struct StreamResult {
    bh_status status = BH_OK;
    std::string data;
    std::string error;
};

// ---- Instance -----------------------------------------------------------------------------------------------------

// Runs `call` (a call through the adapter) and returns the status the plugin returned: BH_OK, or the status of the
// StageFailure it threw.
template <class Call>
bh_status status_of(Call&& call) {
    try {
        call();
        return BH_OK;
    } catch (const StageFailure& failure) {
        return failure.error().status;
    }
}

inline std::span<const uint8_t> bytes(std::string_view data) {
    return {reinterpret_cast<const uint8_t*>(data.data()), data.size()};
}

// An open handle of the adapter, or the status its opening returned.
template <class Handle>
class OpenHandle {
  public:
    bh_status open_status() const { return open_status_; }

  protected:
    template <class Open>
    void open(Open&& opener) {
        open_status_ = status_of([&] { handle_.emplace(opener()); });
    }
    Handle& handle() {
        if (!handle_) throw std::logic_error("handle is not open");
        return *handle_;
    }
    std::optional<Handle> handle_;
    bh_status open_status_ = BH_FATAL;
};

class Instance;

// An open transform stream whose output is collected into a string.
class TransformStream : public OpenHandle<TransformStreamHandle> {
  public:
    TransformStream(Instance& instance, bh_direction direction);
    ~TransformStream() { close(); }  // before sink_ goes: the plugin holds its address until then
    TransformStream(const TransformStream&) = delete;
    TransformStream& operator=(const TransformStream&) = delete;

    bh_status write(std::string_view data) {
        return status_of([&] { handle().write(bytes(data)); });
    }
    bh_status finish() {
        return status_of([&] { handle().finish(); });
    }
    void close() { handle_.reset(); }
    const std::string& output() const { return output_; }
    // Makes every later bh_output.write return BH_CANCELLED, as the host does when downstream stopped.
    void cancel_output() { output_cancelled_ = true; }

  private:
    static bh_status collect(void* ctx, const uint8_t* data, size_t len) {
        auto* self = static_cast<TransformStream*>(ctx);
        if (self->output_cancelled_) return BH_CANCELLED;
        self->output_.append(reinterpret_cast<const char*>(data), len);
        return BH_OK;
    }
    std::string output_;
    bool output_cancelled_ = false;
    bh_output sink_{this, &collect};
};

// An open source stream.
class SourceStream : public OpenHandle<SourceStreamHandle> {
  public:
    explicit SourceStream(Instance& instance);
    SourceStream(const SourceStream&) = delete;
    SourceStream& operator=(const SourceStream&) = delete;

    // One read: appends what it got to `into`; BH_END_OF_STREAM at the end.
    bh_status read(std::string& into, size_t capacity = 64 * 1024) {
        std::string buffer(capacity, '\0');
        size_t len = 0;
        bh_status status = status_of(
            [&] { len = handle().read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buffer.data()), capacity)); });
        into.append(buffer.data(), len);
        return status == BH_OK && len == 0 ? BH_END_OF_STREAM : status;
    }
    void close() { handle_.reset(); }
};

// An open restore target; abandoned (restore_abort) unless finished.
class RestoreTarget : public OpenHandle<RestoreTargetHandle> {
  public:
    RestoreTarget(Instance& instance, const OptionList& restore_options);
    RestoreTarget(const RestoreTarget&) = delete;
    RestoreTarget& operator=(const RestoreTarget&) = delete;

    bh_status write(std::string_view data) {
        return status_of([&] { handle().write(bytes(data)); });
    }
    bh_status finish() {
        if (!handle_ || !handle_->is_open()) throw std::logic_error("restore target is not open");
        return status_of([&] { handle_->finish(); });
    }
    void abort() { handle_.reset(); }
};

// A sink upload; aborted unless committed.
class Upload : public OpenHandle<UploadHandle> {
  public:
    Upload(Instance& instance, const std::string& key, const Table& metadata = {});
    Upload(const Upload&) = delete;
    Upload& operator=(const Upload&) = delete;

    bh_status begin_status() const { return open_status(); }
    bh_status write(std::string_view data) {
        return status_of([&] { handle().write(bytes(data)); });
    }
    bh_status commit() {
        if (!handle_ || !handle_->is_open()) throw std::logic_error("upload is not open");
        return status_of([&] { handle_->commit(); });
    }
    void abort() { handle_.reset(); }
};

struct ObjectInfo {
    std::string key;
    int64_t size = -1;
    int64_t mtime_unix_ms = 0;
    bool operator==(const ObjectInfo&) const = default;
};

// One plugin instance with its own fake host. create() runs in the constructor; check create_status().
class Instance {
  public:
    // `memory_share`: the instance's share of a memory budget (0: none, as from a host older than ABI 1.4).
    Instance(const Plugin& plugin, const OptionList& options, uint64_t memory_share = 0)
        : plugin_(plugin), host_(memory_share) {
        const bh_plugin_descriptor& d = plugin.descriptor();
        OptionValues values(d.options, d.option_count, options);
        create_status_ = status_of(
            [&] { handle_.emplace(d, d.name, host_, std::span<const bh_option_value>(values.data(), values.size())); });
    }
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    bh_status create_status() const { return create_status_; }
    FakeHost& host() { return host_; }
    std::string last_error() const { return host_.last_error(); }
    const bh_plugin_descriptor& descriptor() const { return plugin_.descriptor(); }
    // The adapter over the created instance, for calls the helpers below do not cover.
    PluginHandle& handle() {
        if (!handle_) throw std::logic_error("plugin instance was not created: " + host_.last_error());
        return *handle_;
    }
    // The raw instance, for tests of an ABI entry itself.
    void* raw() const {
        if (!handle_) throw std::logic_error("plugin instance was not created: " + host_.last_error());
        return handle_->raw_instance();
    }

    // Transform: pushes `input` through a fresh stream in chunks and finishes it.
    StreamResult transform(bh_direction direction, std::string_view input, size_t chunk = 64 * 1024) {
        TransformStream stream(*this, direction);
        StreamResult result;
        result.status = stream.open_status();
        for (size_t at = 0; result.status == BH_OK && at < input.size(); at += chunk)
            result.status = stream.write(input.substr(at, chunk));
        if (result.status == BH_OK) result.status = stream.finish();
        result.data = stream.output();
        if (result.status != BH_OK) result.error = last_error();
        return result;
    }

    // Source: opens a stream and reads it to the end (status BH_END_OF_STREAM on success) or the first error.
    StreamResult read_source(size_t capacity = 64 * 1024) {
        SourceStream stream(*this);
        StreamResult result;
        result.status = stream.open_status();
        while (result.status == BH_OK) result.status = stream.read(result.data, capacity);
        if (result.status != BH_END_OF_STREAM) result.error = last_error();
        return result;
    }

    // Source: restores `data` through a fresh restore target and finishes it.
    StreamResult restore(std::string_view data, const OptionList& restore_options = {}) {
        RestoreTarget target(*this, restore_options);
        StreamResult result;
        result.status = target.open_status();
        if (result.status == BH_OK) result.status = target.write(data);
        if (result.status == BH_OK) result.status = target.finish();
        if (result.status != BH_OK) result.error = last_error();
        return result;
    }

    // Source sets (ABI 1.3): the streams of this run; `status` gets BH_OK or the failure's status.
    std::vector<SetStream> list_streams(bh_status& status) {
        std::vector<SetStream> streams;
        status = status_of([&] { streams = handle().list_streams(); });
        return streams;
    }
    // Source sets: reads the stream `name` (listed by list_streams) to the end (BH_END_OF_STREAM on success).
    StreamResult read_stream(const std::string& name, size_t capacity = 64 * 1024) {
        StreamResult result;
        std::string buffer(capacity, '\0');
        result.status = status_of([&] {
            SourceStreamHandle stream = handle().open_stream(name);
            while (size_t len = stream.read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buffer.data()), capacity)))
                result.data.append(buffer.data(), len);
        });
        if (result.status == BH_OK) result.status = BH_END_OF_STREAM;
        if (result.status != BH_END_OF_STREAM) result.error = last_error();
        return result;
    }
    // Source sets: restores `data` as the stream `stream` and finishes it.
    StreamResult restore_stream(const SetStream& stream, std::string_view data, const OptionList& restore_options = {},
                                size_t chunk = 64 * 1024) {
        const bh_plugin_descriptor& d = plugin_.descriptor();
        OptionValues values(d.restore_options, d.restore_option_count, restore_options);
        StreamResult result;
        result.status = status_of([&] {
            RestoreTargetHandle target =
                handle().open_restore_stream(stream, std::span<const bh_option_value>(values.data(), values.size()));
            for (size_t at = 0; at < data.size(); at += chunk) target.write(bytes(data.substr(at, chunk)));
            target.finish();
        });
        if (result.status != BH_OK) result.error = last_error();
        return result;
    }

    // Sink: begin, write, commit in one go.
    StreamResult store(const std::string& key, std::string_view data) {
        Upload upload(*this, key);
        StreamResult result;
        result.status = upload.begin_status();
        if (result.status == BH_OK) result.status = upload.write(data);
        if (result.status == BH_OK) result.status = upload.commit();
        if (result.status != BH_OK) result.error = last_error();
        return result;
    }

    // Sink: reads one object to the end (status BH_END_OF_STREAM on success).
    StreamResult read_object(const std::string& key, size_t capacity = 64 * 1024) {
        StreamResult result;
        std::string buffer(capacity, '\0');
        result.status = status_of([&] {
            ObjectReaderHandle reader = handle().open_read(key);
            while (size_t len = reader.read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buffer.data()), capacity)))
                result.data.append(buffer.data(), len);
        });
        if (result.status == BH_OK) result.status = BH_END_OF_STREAM;
        if (result.status != BH_END_OF_STREAM) result.error = last_error();
        return result;
    }

    bh_status list(const std::string& prefix, std::vector<ObjectInfo>& out, size_t stop_after = SIZE_MAX) {
        return status_of([&] {
            handle().list(prefix, [&](const StoredObject& object) {
                out.push_back({object.key, object.size, object.mtime_unix_ms});
                return out.size() < stop_after;
            });
        });
    }
    bh_status stat(const std::string& key, ObjectInfo& out) {
        return status_of([&] {
            StoredObject object = handle().stat(key);
            out = {object.key, object.size, object.mtime_unix_ms};
        });
    }
    bh_status remove(const std::vector<std::string>& keys) {
        return status_of([&] { handle().remove(keys); });
    }

  private:
    const Plugin& plugin_;
    FakeHost host_;  // outlives the instance
    std::optional<PluginHandle> handle_;
    bh_status create_status_ = BH_FATAL;
};

inline TransformStream::TransformStream(Instance& instance, bh_direction direction) {
    open([&] { return instance.handle().open_transform(direction, sink_); });
}

inline SourceStream::SourceStream(Instance& instance) {
    open([&] { return instance.handle().open_source(); });
}

inline RestoreTarget::RestoreTarget(Instance& instance, const OptionList& restore_options) {
    const bh_plugin_descriptor& d = instance.descriptor();
    OptionValues values(d.restore_options, d.restore_option_count, restore_options);
    open(
        [&] { return instance.handle().open_restore(std::span<const bh_option_value>(values.data(), values.size())); });
}

inline Upload::Upload(Instance& instance, const std::string& key, const Table& metadata) {
    std::vector<bh_kv> kv;
    for (const auto& [k, v] : metadata) kv.push_back({k.c_str(), v.c_str()});
    open([&] { return instance.handle().begin(key, kv); });
}

// ---- Static validation (ABI 1.2) ----------------------------------------------------------------------------------

// What the plugin's validate entry said about one set of options.
struct Validation {
    struct Problem {
        std::string option;  // "" = the stage as a whole
        std::string message;
        bool operator==(const Problem&) const = default;
    };
    bh_status status = BH_OK;
    std::vector<Problem> problems;
};

// Calls the plugin's validate entry as `backhaul validate` does: `deferred` options are set but their values unknown.
// A plugin without a validate entry finds no problem.
inline Validation validate(const Plugin& plugin, const OptionList& options,
                           std::initializer_list<std::string_view> deferred = {}) {
    const bh_plugin_descriptor& d = plugin.descriptor();
    OptionValues values(d.options, d.option_count, options);
    for (std::string_view name : deferred) values.defer(name);
    Validation result;
    result.status = validate_options(d, std::span<const bh_option_value>(values.data(), values.size()),
                                     [&](std::string_view option, std::string_view message) {
                                         result.problems.push_back({std::string(option), std::string(message)});
                                     });
    return result;
}

// True if the plugin's limits table admits `measure` for option `name` (INT: the value, SIZE: bytes, DURATION:
// milliseconds, STRING: length in bytes, LIST/TABLE: entries), as the host checks it. No entry = no limits.
inline bool within_limits(const Plugin& plugin, std::string_view name, int64_t measure) {
    const bh_plugin_descriptor& d = plugin.descriptor();
    if (!built_for_abi_minor(d, 2) || !d.limits) return true;
    for (uint32_t i = 0; i < d.limit_count; ++i) {
        const bh_option_limits& limit = d.limits[i];
        if (name != limit.option) continue;
        if ((limit.flags & BH_LIMIT_MIN) && measure < limit.min) return false;
        if ((limit.flags & BH_LIMIT_MAX) && measure > limit.max) return false;
    }
    return true;
}

}  // namespace backhaul::harness
