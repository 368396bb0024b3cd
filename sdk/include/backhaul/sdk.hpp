// Backhaul plugin SDK for C++20: write one ordinary class, end the file with BACKHAUL_PLUGIN(Class, info).
//
// The class derives from exactly one of SecretProvider, Source, Transform, Sink or Notifier, and has a constructor
// `Class(backhaul::Host host, const backhaul::Options& options)`. The macro generates the C entry point
// `backhaul_plugin_v1` and the descriptor of plugin_abi.h; pure virtual methods make the compiler check every
// signature. Any exception thrown by plugin code becomes a status plus message for the host: throw backhaul::Error
// with a Status to choose the status, anything else is BH_FATAL. Header-only; nothing here crosses the .so boundary
// except the C types of plugin_abi.h.
#pragma once

#include <backhaul/plugin_abi.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace backhaul {

enum class Status : bh_status {
    ok = BH_OK,
    end_of_stream = BH_END_OF_STREAM,
    retryable = BH_RETRYABLE,
    fatal = BH_FATAL,
    cancelled = BH_CANCELLED,
    invalid_config = BH_INVALID_CONFIG,
};

// The one exception type that chooses a status. `what()` is the user-facing line; `detail()` is debug text.
class Error : public std::runtime_error {
  public:
    explicit Error(Status status, const std::string& message, std::string detail = {})
        : std::runtime_error(message), status_(status), detail_(std::move(detail)) {}
    Status status() const noexcept { return status_; }
    const std::string& detail() const noexcept { return detail_; }

  private:
    Status status_;
    std::string detail_;
};

// Options that make no sense together or out of range: create() fails with BH_INVALID_CONFIG.
inline Error invalid_config(const std::string& message) { return Error(Status::invalid_config, message); }

// The host's services for one plugin instance (a cheap handle; copy it freely into streams).
class Host {
  public:
    explicit Host(const bh_host* host) : host_(host) {}

    void log(bh_log_level level, std::string_view message) const {
        std::string line(message);
        host_->log(host_->ctx, level, line.c_str());
    }
    void debug(std::string_view message) const { log(BH_LOG_DEBUG, message); }
    void info(std::string_view message) const { log(BH_LOG_INFO, message); }
    void warn(std::string_view message) const { log(BH_LOG_WARN, message); }

    bool cancelled() const { return host_->is_cancelled(host_->ctx) != 0; }
    void throw_if_cancelled() const {
        if (cancelled()) throw Error(Status::cancelled, "cancelled");
    }
    // Publishes a stage variable for key templates (only during construction, Source::open and a set's streams()).
    void set_variable(std::string_view name, std::string_view value) const {
        std::string n(name), v(value);
        host_->set_variable(host_->ctx, n.c_str(), v.c_str());
    }
    // This stage's share of the pipeline's memory budget: the bytes its own buffers may hold per stream it handles at
    // once. 0 unless PluginInfo::memory_min is set, and on a host older than ABI 1.4: size yourself then.
    uint64_t memory_share() const {
        if (host_->struct_size < offsetof(bh_host, memory_share) + sizeof(host_->memory_share) || !host_->memory_share)
            return 0;
        return host_->memory_share(host_->ctx);
    }
    const bh_host* raw() const { return host_; }

  private:
    const bh_host* host_;
};

// Read access to validated options, by name. Asking for a name the plugin did not declare, or with the wrong type, is a
// plugin bug and throws std::logic_error.
class Options {
  public:
    Options(const bh_option_value* values, uint32_t count) : values_(values, count) {}

    // The pipeline (or a default) sets the option. In `validate` its value may still be unknown: see known().
    bool has(std::string_view name) const { return find(name).is_set != BH_VALUE_UNSET; }
    // The option is set and its value can be read. Always equal to has() outside `validate`, where a value built from
    // an unfetched ${secret:...} is set but unknown (BH_VALUE_DEFERRED): check such values at create time instead.
    bool known(std::string_view name) const { return find(name).is_set == BH_VALUE_SET; }
    std::string string(std::string_view name) const { return typed(name, BH_OPT_STRING, BH_OPT_ENUM).str; }
    std::optional<std::string> optional_string(std::string_view name) const {
        if (!has(name)) return std::nullopt;
        return string(name);
    }
    int64_t integer(std::string_view name) const { return typed(name, BH_OPT_INT).num; }
    bool boolean(std::string_view name) const { return typed(name, BH_OPT_BOOL).num != 0; }
    uint64_t size(std::string_view name) const { return static_cast<uint64_t>(typed(name, BH_OPT_SIZE).num); }
    std::chrono::milliseconds duration(std::string_view name) const {
        return std::chrono::milliseconds(typed(name, BH_OPT_DURATION).num);
    }
    std::vector<std::string> list(std::string_view name) const {
        const bh_option_value& v = typed(name, BH_OPT_LIST);
        return {v.items, v.items + v.item_count};
    }
    std::vector<std::pair<std::string, std::string>> table(std::string_view name) const {
        const bh_option_value& v = typed(name, BH_OPT_TABLE);
        std::vector<std::pair<std::string, std::string>> out;
        for (uint32_t i = 0; i + 1 < v.item_count; i += 2) out.emplace_back(v.items[i], v.items[i + 1]);
        return out;
    }

  private:
    const bh_option_value& find(std::string_view name) const {
        for (const bh_option_value& v : values_)
            if (name == v.name) return v;
        throw std::logic_error("plugin asked for undeclared option '" + std::string(name) + "'");
    }
    const bh_option_value& typed(std::string_view name, bh_option_type a, bh_option_type b = 0) const {
        const bh_option_value& v = find(name);
        if (v.type != a && v.type != b)
            throw std::logic_error("plugin read option '" + std::string(name) + "' with the wrong type");
        if (v.is_set == BH_VALUE_UNSET)
            throw std::logic_error("plugin read unset option '" + std::string(name) + "'; check has() first");
        if (v.is_set != BH_VALUE_SET)
            throw std::logic_error("plugin read option '" + std::string(name) +
                                   "', whose value is not known until the run; check known() first");
        return v;
    }
    std::span<const bh_option_value> values_;
};

// What a plugin's `static void validate(const Options&, Problems&)` reports: every problem it finds, each about one
// option (or the stage as a whole), in one line that says what is accepted, e.g.
//     problems.add("level", "must be between 1 and 9, got " + std::to_string(level));
// The host prefixes the option's position in the pipeline file. The same function runs before the plugin's constructor,
// which therefore never sees options it rejects.
class Problems {
  public:
    void add(std::string_view option, std::string_view message) {
        list_.push_back({std::string(option), std::string(message)});
    }
    void add_stage(std::string_view message) { list_.push_back({{}, std::string(message)}); }
    bool empty() const { return list_.empty(); }

    struct Problem {
        std::string option;  // "" = the stage as a whole
        std::string message;
    };
    const std::vector<Problem>& list() const { return list_; }

  private:
    std::vector<Problem> list_;
};

// What a plugin's `void check(Checks&)` reports for `backhaul check`: one result per live check, e.g.
//     checks.pass("log in to db.example:5432 as backup", "PostgreSQL 15.4");
//     checks.fail("find pg_dump", "no pg_dump 15 or newer on PATH", "install postgresql-client-15");
class Checks {
  public:
    explicit Checks(const bh_check_sink* sink) : sink_(sink) {}
    void pass(std::string_view name, std::string_view detail = {}) { result(name, true, detail, {}); }
    void fail(std::string_view name, std::string_view detail, std::string_view fix = {}) {
        failed_ = true;
        result(name, false, detail, fix);
    }
    bool failed() const { return failed_; }
    // Sinks: the key a check may create (and must remove) objects under, next to where backups go; "" for other
    // kinds. See bh_check_sink.probe_key.
    std::string probe_key() const { return sink_->probe_key ? sink_->probe_key : ""; }

  private:
    void result(std::string_view name, bool ok, std::string_view detail, std::string_view fix) {
        std::string n(name), d(detail), f(fix);
        sink_->result(sink_->ctx, n.c_str(), ok ? 1 : 0, d.c_str(), f.empty() ? nullptr : f.c_str());
    }
    const bh_check_sink* sink_;
    bool failed_ = false;
};

// Where a transform stream writes. Blocks while downstream is full; throws Error(cancelled) when the run is cancelled.
class Output {
  public:
    explicit Output(const bh_output* out) : out_(out) {}
    void write(std::span<const uint8_t> data) const {
        if (data.empty()) return;
        if (out_->write(out_->ctx, data.data(), data.size()) != BH_OK) throw Error(Status::cancelled, "cancelled");
    }

  private:
    const bh_output* out_;
};

// ---- Plugin interfaces ---------------------------------------------------------------------------------------------
// Every stream object is destroyed by the host through its destructor; a destructor must release everything and may
// not throw. What a destructor means when the stream did not finish is stated on each class.

// Secret plugins.
class SecretProvider {
  public:
    using FieldSink = std::function<void(std::string_view name, std::string_view value)>;
    virtual ~SecretProvider() = default;
    // Calls emit for every field of the secret. Wipe your own copies of values afterwards.
    virtual void fetch(const FieldSink& emit) = 0;
};

// Produces the backup stream. Destroyed before end of stream = stop the producer (kill and reap children).
class SourceStream {
  public:
    virtual ~SourceStream() = default;
    // Fills a prefix of `buffer` and returns its length; returns 0 only at the end of a successfully completed stream.
    virtual size_t read(std::span<uint8_t> buffer) = 0;
};

// Consumes a restore stream. Destroyed without finish() = abandon the restore.
class RestoreTarget {
  public:
    virtual ~RestoreTarget() = default;
    virtual void write(std::span<const uint8_t> data) = 0;
    virtual void finish() = 0;
};

// One stream of a set (ABI 1.3, bh_stream_info): a source backing up several databases names each of them.
struct StreamInfo {
    std::string name;  // unique in the set; '/'-separated segments, any UTF-8: "globals", "databases/Orders 2024"
    std::string ext;   // the stream's own extension, e.g. ".sql"
    std::vector<std::pair<std::string, std::string>> variables;  // e.g. {"database", "Orders 2024"}
    int32_t restore_phase = 0;  // lower phases are restored completely first (globals before databases)
};

class Source {
  public:
    virtual ~Source() = default;
    virtual std::unique_ptr<SourceStream> open() = 0;
    virtual std::unique_ptr<RestoreTarget> restore(const Options& restore_options) = 0;
};

// A source that may back up a *set* (ABI 1.3) also declares, detected by the SDK:
//   static bool produces_set(const Options&);    // pure: do these options make a set? (like validate)
//   std::vector<StreamInfo> streams();           // the set of this run, in backup order (may do I/O)
//   std::unique_ptr<SourceStream> open_stream(const StreamInfo&);
//   std::unique_ptr<RestoreTarget> restore_stream(const StreamInfo&, const Options& restore_options);
// When produces_set is true the host uses only these; open() and restore() are for the one-stream configurations.

enum class Direction : bh_direction { encode = BH_ENCODE, decode = BH_DECODE };

// A transform stream. Destroyed without finish() = discard.
class TransformStream {
  public:
    virtual ~TransformStream() = default;
    virtual void write(std::span<const uint8_t> data) = 0;
    virtual void finish() = 0;
};

class Transform {
  public:
    virtual ~Transform() = default;
    // `out` stays valid until the stream is destroyed.
    virtual std::unique_ptr<TransformStream> open(Direction direction, Output out) = 0;
};

// An object being written. The host calls exactly one of commit() and abort(); if commit() throws, the SDK calls
// abort() so that a failed commit leaves nothing behind either.
class Upload {
  public:
    virtual ~Upload() = default;
    virtual void write(std::span<const uint8_t> data) = 0;
    virtual void commit() = 0;
    virtual void abort() noexcept = 0;
};

class ObjectReader {
  public:
    virtual ~ObjectReader() = default;
    // Returns 0 at the end of the object.
    virtual size_t read(std::span<uint8_t> buffer) = 0;
};

struct ObjectInfo {
    std::string key;
    int64_t size = -1;
    int64_t mtime_unix_ms = 0;
};

using Metadata = std::vector<std::pair<std::string, std::string>>;

class Sink {
  public:
    using ListSink = std::function<bool(const ObjectInfo&)>;  // return false to stop listing
    virtual ~Sink() = default;
    virtual std::unique_ptr<Upload> begin(const std::string& key, const Metadata& metadata) = 0;
    virtual std::unique_ptr<ObjectReader> open_read(const std::string& key) = 0;
    virtual void list(const std::string& prefix, const ListSink& emit) = 0;
    virtual ObjectInfo stat(const std::string& key) = 0;
    virtual void remove(const std::vector<std::string>& keys) = 0;
};

class Notifier {
  public:
    virtual ~Notifier() = default;
    virtual void notify(const bh_run_event& event) = 0;
};

// Static metadata, given to BACKHAUL_PLUGIN. Arrays must be static (they are pointed to, not copied).
struct PluginInfo {
    const char* name;
    const char* version;
    const char* description;
    std::span<const bh_option_spec> options = {};
    std::span<const bh_option_spec> restore_options = {};
    const char* const* variables = nullptr;                 // NULL-terminated
    std::span<const bh_option_limits> limits = {};          // ranges of `options`, checked by the host
    std::span<const bh_option_limits> restore_limits = {};  // ranges of `restore_options`
    // Non-zero: the plugin sizes its buffers from Host::memory_share(), and needs at least this many bytes per stream.
    uint64_t memory_min = 0;
};

// ---- Generated glue ------------------------------------------------------------------------------------------------
namespace detail {

template <class T>
constexpr int kind_count = int(std::derived_from<T, SecretProvider>) + int(std::derived_from<T, Source>) +
                           int(std::derived_from<T, Transform>) + int(std::derived_from<T, Sink>) +
                           int(std::derived_from<T, Notifier>);

inline void report(const bh_host* host, const char* message, const char* detail) noexcept {
    if (host && host->set_error) host->set_error(host->ctx, message, detail);
}

// Runs `body`, turning every exception into a status plus a message reported to the host.
template <class Body>
bh_status guarded(const bh_host* host, Body&& body) noexcept {
    try {
        return body();
    } catch (const Error& e) {
        report(host, e.what(), e.detail().empty() ? nullptr : e.detail().c_str());
        return static_cast<bh_status>(e.status());
    } catch (const std::exception& e) {
        report(host, e.what(), nullptr);
        return BH_FATAL;
    } catch (...) {
        report(host, "unknown exception in plugin", nullptr);
        return BH_FATAL;
    }
}

// A plugin class may declare `static void validate(const backhaul::Options&, backhaul::Problems&)` (no I/O) and a
// member `void check(backhaul::Checks&)` (live checks for `backhaul check`).
template <class T>
concept HasValidate = requires(const Options& options, Problems& problems) {
    T::validate(options, problems);
};
template <class T>
concept HasCheck = requires(T& plugin, Checks& checks) {
    plugin.check(checks);
};
template <class T>
concept HasStreamSet = requires(T& plugin, const Options& options, const StreamInfo& info) {
    { T::produces_set(options) } -> std::convertible_to<bool>;
    { plugin.streams() } -> std::convertible_to<std::vector<StreamInfo>>;
    { plugin.open_stream(info) } -> std::convertible_to<std::unique_ptr<SourceStream>>;
    { plugin.restore_stream(info, options) } -> std::convertible_to<std::unique_ptr<RestoreTarget>>;
};

inline StreamInfo to_stream_info(const bh_stream_info& raw) {
    StreamInfo info;
    info.name = raw.name ? raw.name : "";
    info.ext = raw.ext ? raw.ext : "";
    for (uint32_t i = 0; i < raw.variable_count; ++i)
        info.variables.emplace_back(raw.variables[i].key, raw.variables[i].value);
    info.restore_phase = raw.restore_phase;
    return info;
}

// "option 'level': must be ...; option 'x': ..." : how create reports what validate found, one line.
inline std::string problems_line(const Problems& problems) {
    std::string line;
    for (const Problems::Problem& p : problems.list()) {
        if (!line.empty()) line += "; ";
        if (!p.option.empty()) line += "option '" + p.option + "': ";
        line += p.message;
    }
    return line;
}

template <class T>
struct Instance {
    const bh_host* host;
    T plugin;
    std::map<std::string, StreamInfo> streams;  // sets: what streams() listed, by name, for open_stream
};

// A stream handle: the C++ object plus the host that errors are reported to.
template <class S>
struct Handle {
    const bh_host* host;
    std::unique_ptr<S> stream;
};

template <class S>
void* make_handle(const bh_host* host, std::unique_ptr<S> stream) {
    if (!stream) throw std::logic_error("plugin returned a null stream");
    return new Handle<S>{host, std::move(stream)};
}

template <class S>
Handle<S>& handle(void* h) {
    return *static_cast<Handle<S>*>(h);
}

inline Metadata to_metadata(const bh_kv* kv, uint32_t count) {
    Metadata out;
    for (uint32_t i = 0; i < count; ++i) out.emplace_back(kv[i].key, kv[i].value);
    return out;
}

// Reads into a C buffer with END_OF_STREAM at the end: shared by source streams and object readers.
template <class S>
bh_status read_into(void* h, uint8_t* buffer, size_t capacity, size_t* len) noexcept {
    *len = 0;
    Handle<S>& hd = handle<S>(h);
    return guarded(hd.host, [&] {
        *len = hd.stream->read(std::span<uint8_t>(buffer, capacity));
        return *len == 0 ? BH_END_OF_STREAM : BH_OK;
    });
}

template <class S>
void release(void* h) noexcept {
    delete static_cast<Handle<S>*>(h);
}

template <class T>
struct Glue {
    static Instance<T>& self(void* instance) { return *static_cast<Instance<T>*>(instance); }

    static bh_status create(const bh_host* host, const bh_option_value* options, uint32_t count,
                            void** instance) noexcept {
        *instance = nullptr;
        return guarded(host, [&] {
            Options bound(options, count);
            if constexpr (HasValidate<T>) {
                Problems problems;
                T::validate(bound, problems);
                if (!problems.empty()) throw invalid_config(problems_line(problems));
            }
            *instance = new Instance<T>{host, T(Host(host), bound), {}};
            return BH_OK;
        });
    }
    static bh_status validate(const bh_option_value* options, uint32_t count, const bh_problem_sink* sink) noexcept {
        try {
            Problems problems;
            T::validate(Options(options, count), problems);
            for (const Problems::Problem& p : problems.list())
                sink->report(sink->ctx, p.option.empty() ? nullptr : p.option.c_str(), p.message.c_str());
            return problems.empty() ? BH_OK : BH_INVALID_CONFIG;
        } catch (const std::exception& e) {
            sink->report(sink->ctx, nullptr, (std::string("plugin bug in validate: ") + e.what()).c_str());
            return BH_INVALID_CONFIG;
        } catch (...) {
            sink->report(sink->ctx, nullptr, "plugin bug in validate: unknown exception");
            return BH_INVALID_CONFIG;
        }
    }
    static bh_status check(void* instance, const bh_check_sink* sink) noexcept {
        Instance<T>& in = self(instance);
        Checks checks(sink);
        try {
            in.plugin.check(checks);
        } catch (const std::exception& e) {
            checks.fail("check", e.what());
        } catch (...) {
            checks.fail("check", "unknown exception in plugin");
        }
        return checks.failed() ? BH_FATAL : BH_OK;
    }
    static void destroy(void* instance) noexcept { delete static_cast<Instance<T>*>(instance); }

    // Secret
    static bh_status fetch(void* instance, void (*emit)(void*, const char*, const char*, size_t), void* ctx) noexcept {
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            in.plugin.fetch([&](std::string_view name, std::string_view value) {
                std::string n(name);
                emit(ctx, n.c_str(), value.data(), value.size());
            });
            return BH_OK;
        });
    }

    // Source
    static bh_status source_open(void* instance, void** stream) noexcept {
        *stream = nullptr;
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            *stream = make_handle(in.host, in.plugin.open());
            return BH_OK;
        });
    }
    static bh_status restore_open(void* instance, const bh_option_value* options, uint32_t count,
                                  void** target) noexcept {
        *target = nullptr;
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            *target = make_handle(in.host, in.plugin.restore(Options(options, count)));
            return BH_OK;
        });
    }
    // Source sets (ABI 1.3). The entries are in the table only for classes with HasStreamSet; `if constexpr` keeps
    // the others compiling.
    static int32_t produces_set(const bh_option_value* options, uint32_t count) noexcept {
        if constexpr (HasStreamSet<T>) {
            try {
                return T::produces_set(Options(options, count)) ? 1 : 0;
            } catch (...) {
                return 0;
            }
        }
        return 0;
    }
    static bh_status list_streams(void* instance, int32_t (*emit)(void*, const bh_stream_info*), void* ctx) noexcept {
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            if constexpr (HasStreamSet<T>) {
                std::vector<StreamInfo> streams = in.plugin.streams();
                in.streams.clear();
                for (const StreamInfo& info : streams) {
                    if (!in.streams.emplace(info.name, info).second)
                        throw Error(Status::fatal, "plugin bug: two streams named '" + info.name + "'");
                }
                for (const StreamInfo& info : streams) {
                    std::vector<bh_kv> vars;
                    for (const auto& [k, v] : info.variables) vars.push_back(bh_kv{k.c_str(), v.c_str()});
                    const bh_stream_info raw{sizeof(bh_stream_info),
                                             info.name.c_str(),
                                             info.ext.c_str(),
                                             vars.data(),
                                             static_cast<uint32_t>(vars.size()),
                                             info.restore_phase};
                    if (emit(ctx, &raw) != 0) break;
                }
            }
            return BH_OK;
        });
    }
    static bh_status open_stream(void* instance, const char* name, void** stream) noexcept {
        *stream = nullptr;
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            if constexpr (HasStreamSet<T>) {
                auto it = in.streams.find(name);
                if (it == in.streams.end())
                    throw Error(Status::fatal, std::string("no stream named '") + name + "' in this set");
                *stream = make_handle(in.host, in.plugin.open_stream(it->second));
            }
            return BH_OK;
        });
    }
    static bh_status restore_open_stream(void* instance, const bh_stream_info* info, const bh_option_value* options,
                                         uint32_t count, void** target) noexcept {
        *target = nullptr;
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            if constexpr (HasStreamSet<T>) {
                *target =
                    make_handle(in.host, in.plugin.restore_stream(to_stream_info(*info), Options(options, count)));
            }
            return BH_OK;
        });
    }

    static bh_status restore_write(void* target, const uint8_t* data, size_t len) noexcept {
        Handle<RestoreTarget>& hd = handle<RestoreTarget>(target);
        return guarded(hd.host, [&] {
            hd.stream->write(std::span<const uint8_t>(data, len));
            return BH_OK;
        });
    }
    static bh_status restore_finish(void* target) noexcept {
        std::unique_ptr<Handle<RestoreTarget>> hd(&handle<RestoreTarget>(target));
        return guarded(hd->host, [&] {
            hd->stream->finish();
            return BH_OK;
        });
    }

    // Transform
    static bh_status transform_open(void* instance, bh_direction direction, const bh_output* output,
                                    void** stream) noexcept {
        *stream = nullptr;
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            *stream = make_handle(in.host, in.plugin.open(static_cast<Direction>(direction), Output(output)));
            return BH_OK;
        });
    }
    static bh_status transform_write(void* stream, const uint8_t* data, size_t len) noexcept {
        Handle<TransformStream>& hd = handle<TransformStream>(stream);
        return guarded(hd.host, [&] {
            hd.stream->write(std::span<const uint8_t>(data, len));
            return BH_OK;
        });
    }
    static bh_status transform_finish(void* stream) noexcept {
        Handle<TransformStream>& hd = handle<TransformStream>(stream);
        return guarded(hd.host, [&] {
            hd.stream->finish();
            return BH_OK;
        });
    }

    // Sink
    static bh_status begin(void* instance, const char* key, const bh_kv* metadata, uint32_t count,
                           void** upload) noexcept {
        *upload = nullptr;
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            *upload = make_handle(in.host, in.plugin.begin(key, to_metadata(metadata, count)));
            return BH_OK;
        });
    }
    static bh_status upload_write(void* upload, const uint8_t* data, size_t len) noexcept {
        Handle<Upload>& hd = handle<Upload>(upload);
        return guarded(hd.host, [&] {
            hd.stream->write(std::span<const uint8_t>(data, len));
            return BH_OK;
        });
    }
    static bh_status commit(void* upload) noexcept {
        std::unique_ptr<Handle<Upload>> hd(&handle<Upload>(upload));
        bh_status status = guarded(hd->host, [&] {
            hd->stream->commit();
            return BH_OK;
        });
        if (status != BH_OK) hd->stream->abort();
        return status;
    }
    static void abort(void* upload) noexcept {
        std::unique_ptr<Handle<Upload>> hd(&handle<Upload>(upload));
        hd->stream->abort();
    }
    static bh_status open_read(void* instance, const char* key, void** reader) noexcept {
        *reader = nullptr;
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            *reader = make_handle(in.host, in.plugin.open_read(key));
            return BH_OK;
        });
    }
    static bh_status list(void* instance, const char* prefix, int32_t (*emit)(void*, const bh_object_info*),
                          void* ctx) noexcept {
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            in.plugin.list(prefix, [&](const ObjectInfo& object) {
                bh_object_info info{sizeof(bh_object_info), object.key.c_str(), object.size, object.mtime_unix_ms};
                return emit(ctx, &info) == 0;
            });
            return BH_OK;
        });
    }
    static bh_status stat(void* instance, const char* key, bh_object_info* info) noexcept {
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            // The key string must outlive the call; the caller's own key is the one we report.
            ObjectInfo object = in.plugin.stat(key);
            *info = bh_object_info{sizeof(bh_object_info), key, object.size, object.mtime_unix_ms};
            return BH_OK;
        });
    }
    static bh_status remove(void* instance, const char* const* keys, uint32_t count) noexcept {
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            in.plugin.remove(std::vector<std::string>(keys, keys + count));
            return BH_OK;
        });
    }

    // Notifier
    static bh_status notify(void* instance, const bh_run_event* event) noexcept {
        Instance<T>& in = self(instance);
        return guarded(in.host, [&] {
            in.plugin.notify(*event);
            return BH_OK;
        });
    }

    static constexpr bh_secret_api secret_api{sizeof(bh_secret_api), &fetch};
    static constexpr bool kSet = HasStreamSet<T>;
    static constexpr bh_source_api source_api{sizeof(bh_source_api),
                                              &source_open,
                                              &read_into<SourceStream>,
                                              &release<SourceStream>,
                                              &restore_open,
                                              &restore_write,
                                              &restore_finish,
                                              &release<RestoreTarget>,
                                              kSet ? &produces_set : nullptr,
                                              kSet ? &list_streams : nullptr,
                                              kSet ? &open_stream : nullptr,
                                              kSet ? &restore_open_stream : nullptr};
    static constexpr bh_transform_api transform_api{sizeof(bh_transform_api), &transform_open, &transform_write,
                                                    &transform_finish, &release<TransformStream>};
    static constexpr bh_sink_api sink_api{
        sizeof(bh_sink_api),    &begin, &upload_write, &commit, &abort, &open_read, &read_into<ObjectReader>,
        &release<ObjectReader>, &list,  &stat,         &remove};
    static constexpr bh_notifier_api notifier_api{sizeof(bh_notifier_api), &notify};

    static bh_plugin_descriptor describe(const PluginInfo& info) {
        bh_plugin_descriptor d{};
        d.abi_major = BH_ABI_MAJOR;
        d.abi_minor = BH_ABI_MINOR;
        d.struct_size = sizeof(bh_plugin_descriptor);
        d.name = info.name;
        d.version = info.version;
        d.description = info.description;
        d.options = info.options.data();
        d.option_count = static_cast<uint32_t>(info.options.size());
        d.restore_options = info.restore_options.data();
        d.restore_option_count = static_cast<uint32_t>(info.restore_options.size());
        d.variables = info.variables;
        d.limits = info.limits.data();
        d.limit_count = static_cast<uint32_t>(info.limits.size());
        d.restore_limits = info.restore_limits.data();
        d.restore_limit_count = static_cast<uint32_t>(info.restore_limits.size());
        d.memory_min = info.memory_min;
        if constexpr (HasValidate<T>) d.validate = &validate;
        if constexpr (HasCheck<T>) d.check = &check;
        d.create = &create;
        d.destroy = &destroy;
        if constexpr (std::derived_from<T, SecretProvider>) {
            d.kind = BH_KIND_SECRET;
            d.secret = &secret_api;
        } else if constexpr (std::derived_from<T, Source>) {
            d.kind = BH_KIND_SOURCE;
            d.source = &source_api;
        } else if constexpr (std::derived_from<T, Transform>) {
            d.kind = BH_KIND_TRANSFORM;
            d.transform = &transform_api;
        } else if constexpr (std::derived_from<T, Sink>) {
            d.kind = BH_KIND_SINK;
            d.sink = &sink_api;
        } else {
            d.kind = BH_KIND_NOTIFIER;
            d.notifier = &notifier_api;
        }
        return d;
    }
};

template <class T>
const bh_plugin_descriptor* descriptor(const PluginInfo& info) {
    static_assert(kind_count<T> == 1,
                  "a Backhaul plugin class derives from exactly one of backhaul::SecretProvider, Source, Transform, "
                  "Sink, Notifier");
    static_assert(std::is_constructible_v<T, Host, const Options&>,
                  "a Backhaul plugin class needs a constructor (backhaul::Host, const backhaul::Options&)");
    static_assert(!std::is_abstract_v<T>, "a Backhaul plugin class must implement every pure virtual method");
    static const bh_plugin_descriptor d = Glue<T>::describe(info);
    return &d;
}

}  // namespace detail
}  // namespace backhaul

// Defines the plugin's entry point. Use once per plugin, at global scope: BACKHAUL_PLUGIN(MyClass, kInfo);
#define BACKHAUL_PLUGIN(Class, info)                                            \
    extern "C" BH_EXPORT const bh_plugin_descriptor* backhaul_plugin_v1(void) { \
        return ::backhaul::detail::descriptor<Class>(info);                     \
    }
