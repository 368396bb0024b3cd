/*
 * Backhaul plugin ABI, major version 1.
 *
 * The only thing that crosses the shared-object boundary between the `backhaul` core and a plugin. Plain C: fixed-width
 * integers, NUL-terminated UTF-8 strings, opaque handles and function-pointer tables. No C++ types, no exceptions.
 *
 * Versioning rule
 *   - A plugin exports exactly one symbol, BH_PLUGIN_ENTRY_NAME ("backhaul_plugin_v1"), a function returning a pointer
 *     to a static, immutable bh_plugin_descriptor.
 *   - Within ABI major 1, structs only grow at the end, enums only gain values ("added in ABI 1.N" comments). Every
 *     struct that can grow starts with `struct_size`; readers never look past it and treat missing trailing fields as
 *     NULL/0. A plugin built against minor N runs on a host of minor >= N.
 *   - An incompatible change is a new major and a new entry symbol name (backhaul_plugin_v2); a host may export both.
 *
 * Ownership notation used below
 *   (borrowed)  valid only for the duration of the call; copy what you need to keep.
 *   (static)    valid as long as the plugin library is loaded, which is the life of the process.
 *   (instance)  valid from the call that produced it until the matching destroy/close/commit/abort call.
 *
 * Threads: `create`, `destroy` and every secret/notifier call happen on the host's main thread. Each stream handle
 * (source read, transform stream, sink upload/reader, restore target) is driven by exactly one host thread at a time,
 * but that thread is not the main thread and may differ between handles of the same instance. bh_host functions may be
 * called from any thread.
 */
#ifndef BACKHAUL_PLUGIN_ABI_H
#define BACKHAUL_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BH_ABI_MAJOR 1
#define BH_ABI_MINOR 4

#define BH_PLUGIN_ENTRY_NAME "backhaul_plugin_v1"

#if defined(__GNUC__)
#define BH_EXPORT __attribute__((visibility("default")))
#else
#define BH_EXPORT
#endif

/* Result of every fallible call. */
typedef int32_t bh_status;
enum {
    BH_OK = 0,
    BH_END_OF_STREAM = 1,    /* a read produced no bytes because the stream is finished */
    BH_RETRYABLE = 2,        /* transient failure; the same call may succeed later (the plugin already retried per its policy) */
    BH_FATAL = 3,            /* permanent failure of this run */
    BH_CANCELLED = 4,        /* the call stopped because bh_host.is_cancelled returned non-zero */
    BH_INVALID_CONFIG = 5    /* the options passed to create are unusable (the host validated types, not meaning) */
};

typedef int32_t bh_kind;
enum { BH_KIND_SECRET = 1, BH_KIND_SOURCE = 2, BH_KIND_TRANSFORM = 3, BH_KIND_SINK = 4, BH_KIND_NOTIFIER = 5 };

typedef int32_t bh_log_level;
enum { BH_LOG_DEBUG = 0, BH_LOG_INFO = 1, BH_LOG_WARN = 2, BH_LOG_ERROR = 3 };

/* ---------------------------------------------------------------------------------------------------------------- */
/* Options: declared statically by the plugin, validated and converted by the host.                                 */

typedef int32_t bh_option_type;
enum {
    BH_OPT_STRING = 1,   /* TOML string                                                     -> bh_option_value.str   */
    BH_OPT_INT = 2,      /* TOML integer                                                    -> .num                  */
    BH_OPT_BOOL = 3,     /* TOML boolean                                                    -> .num (0 or 1)         */
    BH_OPT_SIZE = 4,     /* integer bytes or string "16MiB", "5 MB", "512k"                 -> .num (bytes)          */
    BH_OPT_DURATION = 5, /* integer seconds or string "500ms", "30s", "5m", "1h30m"         -> .num (milliseconds)   */
    BH_OPT_ENUM = 6,     /* string, one of bh_option_spec.enum_values                       -> .str                  */
    BH_OPT_LIST = 7,     /* array of strings                                                -> .items / .item_count  */
    BH_OPT_TABLE = 8     /* table of string values; items are key, value, key, value, ...   -> .items / .item_count  */
};

enum {
    BH_OPT_REQUIRED = 1u << 0, /* the pipeline must set it; `default_value` is ignored */
    BH_OPT_SECRET = 1u << 1,   /* the value is redacted wherever the host could print it */
    /* Added in ABI 1.1. The value (any list item or table value too) is passed on a child process's command line,
     * which every local user can read in /proc/PID/cmdline. The host refuses ${secret:...} references in it, so a
     * secret reaches a child only through its environment or a file. Not together with BH_OPT_SECRET. */
    BH_OPT_ARGV = 1u << 2
};

typedef struct bh_option_spec {
    const char *name;                     /* (static) snake_case, unique within the table */
    bh_option_type type;
    uint32_t flags;                       /* BH_OPT_* bits of the plugin's ABI minor; the host refuses others */
    const char *default_value;            /* (static) TOML-literal text of the default, e.g. "6", "\"plain\"", "[]"; NULL = none */
    const char *const *enum_values;       /* (static) NULL-terminated list, for BH_OPT_ENUM only */
    const char *doc;                      /* (static) one sentence for `backhaul plugins describe` and the README table */
} bh_option_spec;

/* Added in ABI 1.2: the range of one option, checked by the host in `validate` and `run` alike (before any plugin code
 * runs) and shown by `backhaul plugins describe`. Listed in bh_plugin_descriptor.limits (restore_limits for restore
 * options), at most one entry per option. */
enum { BH_LIMIT_MIN = 1u << 0, BH_LIMIT_MAX = 1u << 1 };
typedef struct bh_option_limits {
    const char *option; /* (static) name of an option in the matching table */
    uint32_t flags;     /* BH_LIMIT_* bits: which of min and max apply */
    /* INT: the value; SIZE: bytes; DURATION: milliseconds; STRING, ENUM: length in bytes; LIST, TABLE: entries. BOOL
     * options have no limits. Inclusive. */
    int64_t min;
    int64_t max;
} bh_option_limits;

/* bh_option_value.is_set. */
enum {
    BH_VALUE_UNSET = 0, /* an optional option the pipeline left out, with no default */
    BH_VALUE_SET = 1,   /* the value is in str / num / items */
    /* Added in ABI 1.2, only ever passed to `validate`: the pipeline sets the option, but its value is built from a
     * ${secret:...} that is fetched only by a run, so str, items are NULL and num is 0. Check what is known. */
    BH_VALUE_DEFERRED = 2
};

/* One option as the host hands it to `create` (and `validate`), after validation, interpolation and defaults. */
typedef struct bh_option_value {
    const char *name;                 /* equals bh_option_spec.name */
    bh_option_type type;
    int32_t is_set;                   /* BH_VALUE_*: whether the pipeline or a default gave a value */
    const char *str;                  /* STRING, ENUM: NUL-terminated; NULL otherwise */
    int64_t num;                      /* INT, BOOL, SIZE (bytes), DURATION (milliseconds) */
    const char *const *items;         /* LIST: item_count strings; TABLE: key/value pairs, item_count = 2 * pairs */
    uint32_t item_count;
} bh_option_value;

/* ---------------------------------------------------------------------------------------------------------------- */
/* Host services, one bh_host per plugin instance, valid from create until destroy.                                 */

typedef struct bh_host {
    uint32_t struct_size;
    void *ctx; /* opaque; pass back unchanged as the first argument */

    /* Logs one line attributed to this stage. The host copies `message` and scrubs secret values from it. Any thread. */
    void (*log)(void *ctx, bh_log_level level, const char *message);

    /* Non-zero once the run is being cancelled (another stage failed, SIGINT/SIGTERM, timeout). Blocking calls should
     * poll it at least every 200 ms and return BH_CANCELLED. Any thread. */
    int32_t (*is_cancelled)(void *ctx);

    /* Records the error behind the non-OK status the plugin is about to return. `message` is one user-facing line;
     * `detail` (may be NULL) is debug text. The host copies both and scrubs secret values. Any thread. */
    void (*set_error)(void *ctx, const char *message, const char *detail);

    /* Publishes a stage variable for key templates and manifests, e.g. "database". The name "ext" is special: the host
     * concatenates the "ext" of every stage in pipeline order to build {ext}. Only during create, source open and
     * (ABI 1.3) list_streams. */
    void (*set_variable)(void *ctx, const char *name, const char *value);

    /* Added in ABI 1.4; present if struct_size covers it. The bytes this instance's own buffers (compression jobs,
     * parts in flight, read-ahead) may hold for each stream it handles at once (a transform stream, a sink upload or
     * object reader): its share of the pipeline's `memory_budget`. Non-zero only for a plugin that declares
     * bh_plugin_descriptor.memory_min; never below that minimum. Any thread. */
    uint64_t (*memory_share)(void *ctx);
} bh_host;

/* Added in ABI 1.2: where `validate` reports problems. */
typedef struct bh_problem_sink {
    void *ctx;
    /* One problem. `option` (borrowed) names the option it is about, or is NULL for the stage as a whole; `message`
     * (borrowed) is one line saying what is wrong and what is accepted, e.g. "must be between 1 and 9, got 12". */
    void (*report)(void *ctx, const char *option, const char *message);
} bh_problem_sink;

/* Added in ABI 1.2: where `check` reports its results. */
typedef struct bh_check_sink {
    void *ctx;
    /* One live check. `name` says what was checked ("log in to db.example:5432 as backup"), `ok` 1 or 0, `detail`
     * the finding (the server version, the error), `fix` what to do about a failure (NULL if nothing to say). All
     * (borrowed). */
    void (*result)(void *ctx, const char *name, int32_t ok, const char *detail, const char *fix);
    /* Sinks: a key (borrowed) under the key template's fixed prefix that no backup can have, so a check may prove the
     * calls a backup makes where backups go. The check may create objects (or multipart uploads) under exactly this
     * key and must leave nothing under it; the host writes, reads and deletes its own probe object there afterwards.
     * NULL for other kinds. */
    const char *probe_key;
} bh_check_sink;

/* Where a stage writes its output. Given by the host to transform streams; the plugin calls `write` from the thread
 * driving that stream. Blocks while the downstream buffer is full (that is the backpressure). Returns BH_OK or
 * BH_CANCELLED. `data` is (borrowed): the host copies it. */
typedef struct bh_output {
    void *ctx;
    bh_status (*write)(void *ctx, const uint8_t *data, size_t len);
} bh_output;

/* ---------------------------------------------------------------------------------------------------------------- */
/* Per-kind function tables. Each starts with struct_size so it can grow. Handles named *_stream, *_upload, *_reader,*/
/* *_target are (instance) handles owned by the plugin and released by the call documented on each.                */

/* Secret: returns every field of the configured secret. */
typedef struct bh_secret_api {
    uint32_t struct_size;
    /* Calls emit once per field. name and value are (borrowed); the host copies the value into memory it wipes when the
     * run ends. The plugin should wipe its own copies before returning. */
    bh_status (*fetch)(void *instance,
                       void (*emit)(void *emit_ctx, const char *name, const char *value, size_t value_len),
                       void *emit_ctx);
} bh_secret_api;

typedef struct bh_kv {
    const char *key;   /* (borrowed) */
    const char *value; /* (borrowed) */
} bh_kv;

/* Added in ABI 1.3: one stream of a set (see bh_source_api.produces_set). */
typedef struct bh_stream_info {
    uint32_t struct_size;
    /* (borrowed) Unique within the set; one or more '/'-separated segments of any UTF-8 except NUL, none empty, "."
     * or "..", e.g. "globals", "databases/Orders 2024". The host percent-encodes each segment to build object keys. */
    const char *name;
    const char *ext;        /* (borrowed) the stream's own extension, e.g. ".sql"; the transforms' follow it */
    const bh_kv *variables; /* (borrowed) the stream's variables, e.g. database = "Orders 2024" */
    uint32_t variable_count;
    /* Restore order: every stream of a lower phase is restored, and finished, before any stream of a higher phase
     * starts (cluster globals before the databases that need their roles). Streams of one phase run in parallel. */
    int32_t restore_phase;
} bh_stream_info;

/* Source: produces the backup stream, and consumes it again on restore. */
typedef struct bh_source_api {
    uint32_t struct_size;
    /* Starts producing (connects, spawns pg_dump, ...). May publish variables. Main thread. *stream is (instance). */
    bh_status (*open)(void *instance, void **stream);
    /* Fills up to `capacity` bytes; *len = bytes written. BH_END_OF_STREAM (with *len = 0) once the data is complete
     * and the producer confirmed success (e.g. the child exited 0). Stage thread. */
    bh_status (*read)(void *stream, uint8_t *buffer, size_t capacity, size_t *len);
    /* Releases the stream. If it did not reach END_OF_STREAM, stop the producer (kill and reap children). Any thread. */
    void (*close)(void *stream);

    /* Restore direction. `restore_options` follow the descriptor's restore_options table (from the CLI). Main thread. */
    bh_status (*restore_open)(void *instance, const bh_option_value *restore_options, uint32_t restore_option_count,
                              void **target);
    bh_status (*restore_write)(void *target, const uint8_t *data, size_t len); /* stage thread */
    /* Completes the restore (e.g. waits for psql and checks its exit status) and releases `target`. */
    bh_status (*restore_finish)(void *target);
    /* Abandons the restore and releases `target`. Must not fail. */
    void (*restore_abort)(void *target);

    /* Added in ABI 1.3: a source whose configuration backs up a *set*, several named streams (the databases of a
     * cluster, its globals), each stored as its own object under the set's key and committed together by the set's
     * manifest. The host reads these entries only if struct_size covers them; NULL = the source produces one stream.
     *
     * Whether these options make a set: pure, no I/O, like bh_plugin_descriptor.validate (values may be DEFERRED).
     * Non-zero = the host calls list_streams / open_stream / restore_open_stream and never open / restore_open. */
    int32_t (*produces_set)(const bh_option_value *options, uint32_t option_count);
    /* The streams of this run, in backup order (connects, lists databases). May publish set variables with
     * set_variable. `emit` returns non-zero to stop early. Main thread. */
    bh_status (*list_streams)(void *instance, int32_t (*emit)(void *emit_ctx, const bh_stream_info *info),
                              void *emit_ctx);
    /* Starts producing the stream named `name` (one list_streams emitted). Then read and close as for open. Several
     * streams of one instance are open at once, each driven by its own thread. Main thread. */
    bh_status (*open_stream)(void *instance, const char *name, void **stream);
    /* Restore direction of one stream of a set, as the set's manifest recorded it ((borrowed) `info`). Then
     * restore_write / restore_finish / restore_abort as for restore_open. Main thread. */
    bh_status (*restore_open_stream)(void *instance, const bh_stream_info *info, const bh_option_value *restore_options,
                                     uint32_t restore_option_count, void **target);
} bh_source_api;

typedef int32_t bh_direction;
enum { BH_ENCODE = 0, BH_DECODE = 1 }; /* ENCODE on backup (compress, encrypt), DECODE on restore and verify */

/* Transform: a stream filter. */
typedef struct bh_transform_api {
    uint32_t struct_size;
    /* Opens a stream that writes its result to `output` ((borrowed) pointer; the struct stays valid until close). */
    bh_status (*open)(void *instance, bh_direction direction, const bh_output *output, void **stream);
    bh_status (*write)(void *stream, const uint8_t *data, size_t len);
    /* End of input: flush everything to output. For DECODE, fail if the input was truncated or trailing data is invalid. */
    bh_status (*finish)(void *stream);
    /* Releases the stream, finished or not. Must not fail. */
    void (*close)(void *stream);
} bh_transform_api;

typedef struct bh_object_info {
    uint32_t struct_size;
    const char *key;       /* (borrowed) full key, as passed to begin */
    int64_t size;          /* bytes, -1 if unknown */
    int64_t mtime_unix_ms; /* last modification, 0 if unknown */
} bh_object_info;

/* Sink: stores objects atomically, reads, lists and deletes them. */
typedef struct bh_sink_api {
    uint32_t struct_size;
    /* Starts an object under `key`. Nothing may be visible under `key` before commit. A sink should fail here if
     * `key` already exists, and must fail in commit if it exists then: a sink never replaces an object. Main thread. */
    bh_status (*begin)(void *instance, const char *key, const bh_kv *metadata, uint32_t metadata_count, void **upload);
    bh_status (*write)(void *upload, const uint8_t *data, size_t len); /* stage thread */
    /* Makes the object visible under its key and releases `upload`. Called only when every stage succeeded. Fails
     * (BH_FATAL, nothing replaced) if an object already exists under the key (conditional write or a check). */
    bh_status (*commit)(void *upload);
    /* Removes everything written and releases `upload`. Must not fail (log what could not be cleaned). Any thread. */
    void (*abort)(void *upload);

    /* Read side, for restore and verify. */
    bh_status (*open_read)(void *instance, const char *key, void **reader);
    bh_status (*read)(void *reader, uint8_t *buffer, size_t capacity, size_t *len); /* END_OF_STREAM at the end */
    void (*close_read)(void *reader);

    /* Lists committed objects whose key starts with `prefix` ("" = all). `emit` returns non-zero to stop early. */
    bh_status (*list)(void *instance, const char *prefix, int32_t (*emit)(void *emit_ctx, const bh_object_info *info),
                      void *emit_ctx);
    /* Metadata of one object; BH_FATAL with a "not found" error if it does not exist. */
    bh_status (*stat)(void *instance, const char *key, bh_object_info *info);
    /* Deletes `count` keys. A key that does not exist is not an error. */
    bh_status (*remove)(void *instance, const char *const *keys, uint32_t count);
} bh_sink_api;

/* What a notifier is told after a run. */
typedef struct bh_run_event {
    uint32_t struct_size;
    const char *pipeline;      /* (borrowed) */
    const char *outcome;       /* "success" or "failure"; from ABI 1.2, "check" for the test event of
                                  `backhaul check --notify` (no backup ran; sent only to plugins built for 1.2+) */
    const char *key;           /* object key, or "" if none was chosen */
    const char *error;         /* one-line error, "" on success; already scrubbed of secrets */
    int64_t started_unix_ms;
    int64_t duration_ms;
    int64_t raw_bytes;         /* bytes the source produced */
    int64_t stored_bytes;      /* bytes the sink stored (committed); 0 when nothing was committed */
    /* Added in ABI 1.1: what exists after the run, and what retention found. Read them only if struct_size covers
     * them (a 1.0 host sends none). */
    int32_t backup_complete;   /* 1: the backup and its manifest exist under `key`, even if the run failed later */
    int32_t data_committed;    /* 1: data was committed under `key`; with backup_complete 0 it lacks its manifest */
    int32_t shrunken;          /* 1: the backup's raw size fell below shrink_threshold of the last good backup's */
    int64_t shrink_baseline_raw_bytes; /* with shrunken: the raw size it was compared with; else 0 */
    int64_t untouched_objects; /* objects under the key template retention never deletes by itself (not ours, or
                                  incomplete); -1 if unknown */
    /* Added in ABI 1.3 (read only if struct_size covers them): sets and several sinks. */
    int32_t stream_count;        /* objects in the backup: 1, or the streams of a set; 0 if none was listed */
    const char *complete_sinks;  /* (borrowed) names of the sinks holding a complete copy, comma-separated; "" none */
    const char *failed_sinks;    /* (borrowed) names of the sinks whose copy failed, comma-separated; "" none */
} bh_run_event;

typedef struct bh_notifier_api {
    uint32_t struct_size;
    bh_status (*notify)(void *instance, const bh_run_event *event);
} bh_notifier_api;

/* ---------------------------------------------------------------------------------------------------------------- */
/* The descriptor: static data the host reads without running plugin code, then the entry points.                   */

typedef struct bh_plugin_descriptor {
    uint32_t abi_major;   /* BH_ABI_MAJOR the plugin was built with; must equal the host's */
    uint32_t abi_minor;   /* BH_ABI_MINOR the plugin was built with; must be <= the host's */
    uint32_t struct_size; /* sizeof(bh_plugin_descriptor) as the plugin saw it */

    bh_kind kind;
    const char *name;        /* (static) "<kind>-<name>", e.g. "compress-gzip"; equals the plugin's folder */
    const char *version;     /* (static) plugin version, semver */
    const char *description; /* (static) one line */

    const bh_option_spec *options; /* (static) */
    uint32_t option_count;
    const bh_option_spec *restore_options; /* (static) sources only: options of `backhaul restore`, as --flag-name */
    uint32_t restore_option_count;
    const char *const *variables; /* (static) NULL-terminated names this plugin publishes with set_variable; may be NULL */

    /* Creates an instance from validated options ((borrowed), in option-table order, count = option_count). Must not do
     * network or child-process I/O: that belongs in open/fetch/begin. `host` is (instance). Main thread. */
    bh_status (*create)(const bh_host *host, const bh_option_value *options, uint32_t option_count, void **instance);
    /* Releases an instance after every handle it produced was released. Main thread. Must not fail. */
    void (*destroy)(void *instance);

    /* Exactly the table matching `kind` is non-NULL. (static) */
    const bh_secret_api *secret;
    const bh_source_api *source;
    const bh_transform_api *transform;
    const bh_sink_api *sink;
    const bh_notifier_api *notifier;

    /* Added in ABI 1.2; the host reads them only if struct_size covers them, and treats NULL / 0 as absent. */
    const bh_option_limits *limits; /* (static) ranges of options, checked by the host */
    uint32_t limit_count;
    const bh_option_limits *restore_limits; /* (static) ranges of restore_options */
    uint32_t restore_limit_count;
    /* Checks bound options for everything limits cannot say: formats (URLs, recipients, bucket names) and rules
     * between options. Sees the options as `create` would (option-table order), except that values built from
     * unfetched secrets are BH_VALUE_DEFERRED. Reports every problem through `problems`, returns BH_OK if there was
     * none, else BH_INVALID_CONFIG. No I/O, no state: the host calls it for `backhaul validate` and before every
     * `create`, so `create` need not check again what this checks. Main thread. Optional. */
    bh_status (*validate)(const bh_option_value *options, uint32_t option_count, const bh_problem_sink *problems);
    /* The live checks of `backhaul check` on a created instance of any kind: log in, read versions and privileges,
     * find required programs. May do network and child-process I/O but changes nothing it does not undo. Reports
     * every check through `checks`; returns BH_OK if all passed, else BH_FATAL. The host runs its own generic checks
     * too (fetching secrets, writing, reading and deleting a probe object in a sink). Main thread. Optional. */
    bh_status (*check)(void *instance, const bh_check_sink *checks);

    /* Added in ABI 1.4. Non-zero: the plugin sizes its buffers from bh_host.memory_share, and this is the least share
     * (bytes per stream) it works in; the host splits the pipeline's memory budget between the engine's queues and
     * every such stage, and `validate` refuses a budget that cannot give each its minimum. 0: the plugin keeps only
     * small fixed buffers and takes no share. */
    uint64_t memory_min;
} bh_plugin_descriptor;

/* Type of the exported entry point. The returned descriptor is (static). */
typedef const bh_plugin_descriptor *bh_plugin_entry_fn(void);

#ifdef __cplusplus
}
#endif

#endif /* BACKHAUL_PLUGIN_ABI_H */
