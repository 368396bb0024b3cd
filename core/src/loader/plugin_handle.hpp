// The host's typed C++ side of the plugin ABI: the mirror of sdk.hpp. sdk.hpp turns a plugin author's class into the C
// tables of plugin_abi.h; this turns those tables back into C++ for the host. The engine and the test harness drive
// every plugin through it, so no other code calls a descriptor's function pointers or checks a bh_status.
//
// - Ownership is RAII: a PluginHandle is one created instance (create in the constructor, destroy in the destructor);
//   each handle the ABI hands out (source stream, restore target, transform stream, upload, object reader) is a
//   move-only object released by its destructor: closed, or for an upload and a restore target that did not
//   finish, aborted. A handle must not outlive its instance; declared after it in one scope, it never does.
// - A failed call throws StageFailure, whose StageError says which stage, which entry, which status and the plugin's
//   own message. Nothing downstream reads the text to learn what happened. The exceptions are the entries whose
//   non-OK status is a result, not a failure: validate (problems found) returns its status.
// - ABI minors: entries appended in a later minor are read only if the plugin's descriptor has them (has_check()).
//
// Threads follow plugin_abi.h: create, destroy, every secret/notifier/sink-object call on the main thread; each stream
// handle driven by one thread at a time, any thread. Several instances of one plugin, and several handles of one
// instance, are independent objects.
#pragma once

#include <backhaul/plugin_abi.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "errors.hpp"

namespace backhaul {

// Whether the plugin was built for ABI 1.`minor` or later, so that its descriptor has the fields that minor appended
// (validate_descriptor checked that the size matches the minor).
inline bool built_for_abi_minor(const bh_plugin_descriptor& plugin, uint32_t minor) {
    return plugin.abi_minor >= minor;
}

// "ok", "end of stream", "retryable", "fatal", "cancelled", "invalid configuration", else "status N".
std::string status_name(bh_status status);

// A plugin call that failed, as a value: what the run reports and what the engine decides on.
struct StageError {
    std::string stage;  // the stage's label with its plugin: "transform[0] (compress-gzip)"
    bh_kind kind = 0;   // the plugin's kind
    std::string call;   // the ABI entry: "create", "open", "read", "write", "finish", "commit", "list", ...
    bh_status status = BH_FATAL;
    std::string message;  // the plugin's set_error line (scrubbed by the host), or "<call> failed (<status>)"

    // The one line every report shows: "transform[0] (compress-gzip): invalid gzip data".
    std::string line() const { return stage + ": " + message; }
};

// Thrown for a failed plugin call. A RunError (exit 1) whose what() is error().line().
class StageFailure : public RunError {
  public:
    explicit StageFailure(StageError error) : RunError(error.line()), error_(std::move(error)) {}
    const StageError& error() const noexcept { return error_; }

  private:
    StageError error_;
};

// The host side of one plugin instance, as the adapter needs it: the bh_host given to create (valid until destroy)
// and the message behind a failed call. The engine's StageHost; the test harness's FakeHost.
class InstanceHost {
  public:
    virtual ~InstanceHost() = default;
    virtual const bh_host* raw() const = 0;
    // The message of the plugin's last set_error that was not taken yet, and forgets it; "" if none.
    virtual std::string take_error() = 0;
    bool cancelled() const { return raw()->is_cancelled(raw()->ctx) != 0; }
};

// One object in a sink, as list and stat report it.
struct StoredObject {
    std::string key;
    int64_t size = -1;          // -1 if the sink does not know
    int64_t mtime_unix_ms = 0;  // 0 if the sink does not know
};

// One result of a plugin's live check (bh_check_sink.result).
struct PluginCheckLine {
    std::string name;
    bool ok = false;
    std::string detail;
    std::string fix;  // "" if the plugin had nothing to say
};

// One stream of a source's set (ABI 1.3, bh_stream_info), as the host keeps it and the set's manifest records it.
struct SetStream {
    std::string name;  // '/'-separated segments, checked by list_streams
    std::string ext;
    std::map<std::string, std::string> variables;
    int32_t restore_phase = 0;
};

class PluginHandle;

namespace detail {
// What every handle shares: the instance it came from (for errors) and the raw handle it owns.
class OwnedHandle {
  public:
    OwnedHandle(OwnedHandle&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), raw_(std::exchange(other.raw_, nullptr)) {}
    OwnedHandle& operator=(OwnedHandle&&) = delete;
    OwnedHandle(const OwnedHandle&) = delete;
    OwnedHandle& operator=(const OwnedHandle&) = delete;
    bool is_open() const { return raw_ != nullptr; }

  protected:
    OwnedHandle(PluginHandle& owner, void* raw);
    ~OwnedHandle();
    // Gives up the raw handle (the call that releases it is being made); the instance forgets it.
    void* release();
    // Throws StageFailure unless `status` is BH_OK.
    void check(bh_status status, std::string_view call, std::string_view what = {}) const;

    PluginHandle* owner_;
    void* raw_;
};
}  // namespace detail

// A source's backup stream. Destroyed before the end = the producer is stopped (bh_source_api.close).
class SourceStreamHandle : public detail::OwnedHandle {
  public:
    SourceStreamHandle(SourceStreamHandle&&) = default;
    ~SourceStreamHandle() { close(); }
    // Fills a prefix of `buffer` and returns its length; 0 at the end of the stream (the producer succeeded).
    size_t read(std::span<uint8_t> buffer);
    void close() noexcept;

  private:
    friend class PluginHandle;
    SourceStreamHandle(PluginHandle& owner, void* raw) : OwnedHandle(owner, raw) {}
};

// A source's restore target. Destroyed without finish() = the restore is abandoned (restore_abort).
class RestoreTargetHandle : public detail::OwnedHandle {
  public:
    RestoreTargetHandle(RestoreTargetHandle&&) = default;
    ~RestoreTargetHandle() { abort(); }
    void write(std::span<const uint8_t> data);
    // Completes the restore; the target is released whatever the outcome.
    void finish();
    void abort() noexcept;

  private:
    friend class PluginHandle;
    RestoreTargetHandle(PluginHandle& owner, void* raw) : OwnedHandle(owner, raw) {}
};

// A transform stream writing into the bh_output it was opened with. Destroyed = closed, finished or not.
class TransformStreamHandle : public detail::OwnedHandle {
  public:
    TransformStreamHandle(TransformStreamHandle&&) = default;
    ~TransformStreamHandle() { close(); }
    void write(std::span<const uint8_t> data);
    void finish();
    void close() noexcept;

  private:
    friend class PluginHandle;
    TransformStreamHandle(PluginHandle& owner, void* raw) : OwnedHandle(owner, raw) {}
};

// An object being written to a sink. Destroyed without commit() = aborted: nothing appears under the key.
class UploadHandle : public detail::OwnedHandle {
  public:
    UploadHandle(UploadHandle&&) = default;
    ~UploadHandle() { abort(); }
    void write(std::span<const uint8_t> data);
    // Makes the object visible; the upload is released whatever the outcome (a failed commit leaves nothing).
    void commit();
    void abort() noexcept;

  private:
    friend class PluginHandle;
    UploadHandle(PluginHandle& owner, void* raw, std::string key) : OwnedHandle(owner, raw), key_(std::move(key)) {}
    std::string key_;
};

// An object being read from a sink.
class ObjectReaderHandle : public detail::OwnedHandle {
  public:
    ObjectReaderHandle(ObjectReaderHandle&&) = default;
    ~ObjectReaderHandle() { close(); }
    // Fills a prefix of `buffer` and returns its length; 0 at the end of the object.
    size_t read(std::span<uint8_t> buffer);
    void close() noexcept;

  private:
    friend class PluginHandle;
    ObjectReaderHandle(PluginHandle& owner, void* raw, std::string key)
        : OwnedHandle(owner, raw), key_(std::move(key)) {}
    std::string key_;
};

// One created plugin instance. Calls of another kind's table are host bugs and throw std::logic_error.
class PluginHandle {
  public:
    // Calls create with `options` (borrowed for the call). `stage` names the instance in errors; `host` must outlive
    // this object. Throws StageFailure (call "create") if the plugin fails or hands back no instance.
    PluginHandle(const bh_plugin_descriptor& plugin, std::string stage, InstanceHost& host,
                 std::span<const bh_option_value> options);
    ~PluginHandle();
    PluginHandle(const PluginHandle&) = delete;
    PluginHandle& operator=(const PluginHandle&) = delete;

    const bh_plugin_descriptor& descriptor() const { return plugin_; }
    const std::string& label() const { return stage_; }
    bh_kind kind() const { return plugin_.kind; }
    uint32_t abi_minor() const { return plugin_.abi_minor; }
    // The raw instance, for tests that call an ABI entry directly. The host itself never needs it.
    void* raw_instance() const { return instance_; }

    // The StageError of a failed `call`: the plugin's pending set_error message, else "<what> failed (<status>)"
    // (`what` defaults to the call's name; "begin 'KEY'" says more).
    StageError error(bh_status status, std::string_view call, std::string_view what = {}) const;
    // Throws StageFailure(error(...)) unless `status` is BH_OK.
    void check(bh_status status, std::string_view call, std::string_view what = {}) const;
    // What the host found wrong with a call that succeeded (more bytes than asked for, an object too large): a
    // StageFailure of this stage, status BH_FATAL.
    [[noreturn]] void fail(std::string_view call, std::string message) const;

    // Any kind, ABI 1.2: the plugin's own live checks, each reported to `on_line`. Throws StageFailure if a check
    // failed (the lines say which) or the entry failed. has_check() is false for plugins without the entry.
    bool has_check() const;
    void check_live(const std::string& probe_key, const std::function<void(const PluginCheckLine&)>& on_line);

    // Secret: every field, each to `emit` (name and value borrowed for the call).
    void fetch(const std::function<void(std::string_view name, std::string_view value)>& emit);

    // Source.
    SourceStreamHandle open_source();
    RestoreTargetHandle open_restore(std::span<const bh_option_value> restore_options);
    // Source sets (ABI 1.3; only for a source whose produces_set() said so). The streams of this run, checked: names
    // well-formed (see bh_stream_info) and unique, at least one. Throws StageFailure otherwise.
    std::vector<SetStream> list_streams();
    SourceStreamHandle open_stream(const std::string& name);
    RestoreTargetHandle open_restore_stream(const SetStream& stream, std::span<const bh_option_value> restore_options);

    // Transform. `output` must stay valid until the stream is closed.
    TransformStreamHandle open_transform(bh_direction direction, const bh_output& output);

    // Sink.
    UploadHandle begin(const std::string& key, std::span<const bh_kv> metadata = {});
    ObjectReaderHandle open_read(const std::string& key);
    // Every committed object under `prefix`; `emit` returns false to stop early.
    void list(const std::string& prefix, const std::function<bool(const StoredObject&)>& emit);
    StoredObject stat(const std::string& key);
    void remove(std::span<const std::string> keys);

    // Notifier.
    void notify(const bh_run_event& event);

  private:
    friend class detail::OwnedHandle;
    friend class SourceStreamHandle;
    friend class RestoreTargetHandle;
    friend class TransformStreamHandle;
    friend class UploadHandle;
    friend class ObjectReaderHandle;

    const bh_secret_api& secret_api() const;
    const bh_source_api& source_api() const;
    const bh_transform_api& transform_api() const;
    const bh_sink_api& sink_api() const;
    const bh_notifier_api& notifier_api() const;

    const bh_plugin_descriptor& plugin_;
    std::string stage_;
    InstanceHost& host_;
    void* instance_ = nullptr;
    std::atomic<int> open_handles_{0};  // handles not yet released: must be none at destroy
};

// Whether `options` make the source `plugin` back up a set (ABI 1.3 produces_set); false for older sources and other
// kinds. Pure: no plugin instance.
bool produces_set(const bh_plugin_descriptor& plugin, std::span<const bh_option_value> options);

// The plugin's validate entry (ABI 1.2) on `options`: each problem to `report` (option "" = the stage as a whole).
// Problems are a result, not a failure: returns the entry's status, BH_OK if the plugin has no validate entry.
bh_status validate_options(const bh_plugin_descriptor& plugin, std::span<const bh_option_value> options,
                           const std::function<void(std::string_view option, std::string_view message)>& report);

}  // namespace backhaul
