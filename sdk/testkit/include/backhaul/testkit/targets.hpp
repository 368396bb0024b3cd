// The contract test kit: Backhaul's own suites of what every plugin of a kind must do, run against your plugin through
// the real `backhaul` binary. You write one target class that tells the kit how to use your plugin and how to look at
// its backend without it, and one CMake call:
//
//   #include <backhaul/testkit/targets.hpp>
//   class SftpTarget : public backhaul::testkit::SinkTarget { ... };
//   BACKHAUL_TESTKIT_SINK(SftpTarget)
//
//   backhaul_add_plugin_tests(sink-sftp KIND sink SOURCES tests/sftp_target.cpp)
//
// Each test of the suite becomes a ctest case. sdk/README.md ("Testing a plugin") lists the suites and what each
// test proves. The kit drives the `backhaul` of the SDK it was installed with, which loads the first-party plugins
// the suites pipe through (source-command, sink-local) and yours from the directory your target was built into.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace backhaul::testkit {

using Environment = std::map<std::string, std::string>;

// ---- Sinks --------------------------------------------------------------------------------------------------------

// Where one test's objects go.
struct SinkArea {
    // TOML lines of the [sink] table besides `plugin` and `key`, e.g. "path = \"/srv/t1\"\nfsync = false\n".
    std::string options;
    // Put before every key the kit uses ("t1/" for a prefix of a shared bucket; "" when the area is all the test's).
    std::string key_prefix;
    // Added to the environment of every `backhaul` the test runs (credentials for `${env:…}` in `options`).
    Environment environment;
};

struct StoredObject {
    std::string key;  // as the sink names it, key_prefix included
    uint64_t bytes = 0;
    bool operator==(const StoredObject&) const = default;
    friend void PrintTo(const StoredObject& o, std::ostream* out) { *out << o.key << " (" << o.bytes << " bytes)"; }
};

class SinkTarget {
  public:
    virtual ~SinkTarget() = default;
    // The plugin's name, e.g. "sink-sftp".
    virtual std::string plugin() const = 0;
    // A new, empty area that only the test `test_id` (letters, digits and '-') uses.
    virtual SinkArea prepare(const std::string& test_id) = 0;
    // Everything in the test's area, found WITHOUT the plugin (a filesystem walk, another client): temporaries,
    // half-written uploads and leftovers included, so that "nothing is left" can be checked. Any order.
    virtual std::vector<StoredObject> stored_objects(const std::string& test_id) = 0;
    // An object's bytes, read without the plugin.
    virtual std::string read_object(const std::string& test_id, const std::string& key) = 0;
    // Creates or replaces an object without the plugin (another writer, or damage).
    virtual void place_object(const std::string& test_id, const std::string& key, const std::string& bytes) = 0;
    // The size of the large-stream test: more than every buffer and part size of the plugin.
    virtual uint64_t large_stream_bytes() const { return uint64_t{96} << 20; }
};

// ---- Transforms (compress-*, encrypt-*, transform-*) --------------------------------------------------------------

struct TransformSetup {
    // TOML lines of the [[transform]] table besides `plugin`.
    std::string options;
    Environment environment;
    // A program that decodes standard input to standard output without the plugin ({"gunzip", "-c"}), to prove that
    // what the plugin writes is the format it claims; empty when there is none.
    std::vector<std::string> independent_decoder;
};

class TransformTarget {
  public:
    virtual ~TransformTarget() = default;
    virtual std::string plugin() const = 0;
    // Options for one test; `work_dir` is an empty directory of the test's own (for keys and such).
    virtual TransformSetup prepare(const std::filesystem::path& work_dir) = 0;
};

// ---- Secret providers ---------------------------------------------------------------------------------------------

struct SecretSetup {
    // TOML lines of the [secrets.ID] table besides `plugin`.
    std::string options;
    // `${secret:ID.FIELD}` gives the value.
    std::string field;
    Environment environment;
};

class SecretTarget {
  public:
    virtual ~SecretTarget() = default;
    virtual std::string plugin() const = 0;
    // Stores `value` (spaces, quotes, `$`, non-ASCII letters; no newline) in the backend and returns options that read
    // it. `work_dir` is an empty directory of the test's own.
    virtual SecretSetup prepare(const std::filesystem::path& work_dir, const std::string& value) = 0;
    // Options that name a secret the backend does not have: the fetch must fail.
    virtual SecretSetup prepare_missing(const std::filesystem::path& work_dir) = 0;
};

// ---- Sources ------------------------------------------------------------------------------------------------------

struct SourceSetup {
    // TOML lines of the [source] table besides `plugin`.
    std::string options;
    Environment environment;
    // A credential the options use (a database password through `${env:…}`), if any: it must never show in
    // backhaul's output, the backup, or any command line, and only the programs named here may hold it in their
    // environment (pg_dump gets PGPASSWORD).
    std::string secret;
    std::vector<std::string> programs_given_the_secret;
};

class SourceTarget {
  public:
    virtual ~SourceTarget() = default;
    virtual std::string plugin() const = 0;
    // Options of a source whose backup check_backup() can judge; `work_dir` is an empty directory of the test's own.
    virtual SourceSetup prepare(const std::filesystem::path& work_dir) = 0;
    // Judges the stored backup without the plugin (restores it with the backend's own tools, compares, ...), with
    // GoogleTest assertions.
    virtual void check_backup(const std::filesystem::path& work_dir, const std::string& backup) = 0;
    // Options with which the source must fail at run time (a database that does not exist, a command that fails,
    // ...); nullopt for a source that cannot fail once its options are valid (the test is then skipped, saying so).
    virtual std::optional<SourceSetup> prepare_failing(const std::filesystem::path& work_dir) = 0;
};

// One target per test program, made when the first test needs it and kept until the program ends (a server the
// target starts serves every test). The BACKHAUL_TESTKIT_* macros below define the one the suite calls.
std::unique_ptr<SinkTarget> make_sink_target();
std::unique_ptr<TransformTarget> make_transform_target();
std::unique_ptr<SecretTarget> make_secret_target();
std::unique_ptr<SourceTarget> make_source_target();

}  // namespace backhaul::testkit

#define BACKHAUL_TESTKIT_SINK(Class)                                                         \
    std::unique_ptr<::backhaul::testkit::SinkTarget> backhaul::testkit::make_sink_target() { \
        return std::make_unique<Class>();                                                    \
    }
#define BACKHAUL_TESTKIT_TRANSFORM(Class)                                                              \
    std::unique_ptr<::backhaul::testkit::TransformTarget> backhaul::testkit::make_transform_target() { \
        return std::make_unique<Class>();                                                              \
    }
#define BACKHAUL_TESTKIT_SECRET(Class)                                                           \
    std::unique_ptr<::backhaul::testkit::SecretTarget> backhaul::testkit::make_secret_target() { \
        return std::make_unique<Class>();                                                        \
    }
#define BACKHAUL_TESTKIT_SOURCE(Class)                                                           \
    std::unique_ptr<::backhaul::testkit::SourceTarget> backhaul::testkit::make_source_target() { \
        return std::make_unique<Class>();                                                        \
    }
