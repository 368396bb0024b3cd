// Fault injection (issue 8): each test breaks one thing under a real `backhaul run` and checks the promise "never
// loses or corrupts a backup". A failed run must exit non-zero, leave nothing under its key (nor a manifest), leave no
// pending multipart upload, no temp file and no child process, send the failure notification, and leave the backups
// of earlier runs exactly as they were (retention, configured to delete, must not have run). A transient fault must
// instead end in a backup byte-identical to the input.
//
// Deterministic by construction (issue 12): every fault happens at a named point — after exactly N bytes of pg_dump's
// output, on the Nth request of a kind, once a multipart upload exists — never after a wall-clock delay that a fast or
// a slow machine can outrun. And every case owns its state: its own bucket, pipeline name, lock directory, temp
// directory and earlier backups, so one case's outcome cannot change another's.
#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "command_runner.hpp"
#include "fault_proxy.hpp"
#include "http_receiver.hpp"
#include "postgres_fixture.hpp"
#include "s3_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kKeyTemplate = "fault/{pipeline}/%Y%m%d-%H%M%S{ext}";

std::string random_bytes(size_t size, uint64_t seed) {
    std::mt19937_64 random(seed);
    std::string data(size, '\0');
    for (size_t i = 0; i < size; i += 8) {
        uint64_t word = random();
        for (size_t j = 0; j < 8 && i + j < size; ++j) data[i + j] = static_cast<char>(word >> (8 * j));
    }
    return data;
}

// Whether any process has `marker` as one of its arguments.
bool process_with_argument(const std::string& marker) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream cmdline(entry.path() / "cmdline", std::ios::binary);
        std::string argument;
        while (std::getline(cmdline, argument, '\0'))
            if (argument == marker) return true;
    }
    return false;
}

// Polls `condition` every 50 ms for up to `limit`: waits for a named step, the limit only bounds a broken run.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

// Keys have one-second resolution: returns once the wall clock is in a later second than when it was called, so the
// next run's key differs from every key made before.
void wait_for_next_second() {
    std::this_thread::sleep_until(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + 1s);
}

// The key `backhaul run` logged that it was backing up to ("" if it got no that far).
std::string key_of_run(const std::string& log) {
    const std::string marker = "backing up to '";
    const size_t at = log.find(marker);
    if (at == std::string::npos) return "";
    const size_t start = at + marker.size();
    return log.substr(start, log.find('\'', start) - start);
}

// "f<N>-<test name>" in lower case, at most 63 characters: a valid bucket name and pipeline name, unique per case.
std::string case_name() {
    static int cases = 0;
    std::string name = "f" + std::to_string(++cases) + "-";
    for (char c : std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()))
        name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
    name.resize(std::min<size_t>(name.size(), 63));
    while (name.back() == '-') name.pop_back();
    return name;
}

class FaultInjection : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { postgres_ = PostgresServer::start_or_null(&setup_error_, load_database); }
    static void TearDownTestSuite() { postgres_.reset(); }

    void SetUp() override {
        ASSERT_TRUE(postgres_) << setup_error_;
        std::filesystem::create_directories(tmp_ / "run-tmp");
        std::filesystem::create_directories(lock_dir());
        write_file(tmp_ / "input.bin", random_bytes(12 << 20, 8));
        s3().create_bucket(name_);
    }

    // A table of about 50 MB of text, pg_dump's output many times the bytes after which the pg_dump tests cut it and
    // more than the socket and pipe buffers between the server and backhaul hold.
    static void load_database(const PostgresServer& server) {
        server.query("postgres", "CREATE DATABASE app");
        server.query("app",
                     "CREATE TABLE notes (id int PRIMARY KEY, body text);"
                     "INSERT INTO notes SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 200000) g;");
    }

    SwiftS3& s3() { return SwiftS3::instance(); }

    // `extra`: more option lines; max_retries there replaces the default of 3.
    std::string s3_sink(const std::string& endpoint, const std::string& extra = "") {
        return "[sink]\nplugin = \"sink-ncloud-s3\"\nendpoint = \"" + endpoint +
               "\"\nregion = \"us-east-1\"\nbucket = \"" + name_ + "\"\nkey = \"" + kKeyTemplate +
               "\"\naccess_key = \"${env:S3_ACCESS_KEY}\"\nsecret_key = \"${env:S3_SECRET_KEY}\"\n"
               "part_size = \"5MiB\"\nconcurrency = 2\nconnect_timeout = \"3s\"\n" +
               (extra.find("max_retries") == std::string::npos ? "max_retries = 3\n" : "") + extra;
    }
    std::string command_source(const std::string& argv) {
        return "[source]\nplugin = \"source-command\"\ncommand = " + argv + "\n";
    }
    std::string cat_input() { return command_source("[\"cat\", \"" + (tmp_ / "input.bin").string() + "\"]"); }
    // `pg_dump`: option pg_dump, e.g. a wrapper that injects a fault ("" = source-postgres picks the installed one).
    std::string postgres_source(const PostgresServer& server, const std::filesystem::path& pg_dump = {}) {
        return "[source]\nplugin = \"source-postgres\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(server.port()) +
               "\nuser = \"" + server.user() + "\"\ndatabase = \"app\"\npassword = \"${env:PG_PASSWORD}\"\n" +
               (pg_dump.empty() ? "" : "pg_dump = \"" + pg_dump.string() + "\"\n");
    }
    std::string notify(const std::string& url) {
        return "[[notify]]\nplugin = \"notify-webhook\"\non = [\"failure\"]\nurl = \"" + url +
               "\"\ntimeout = \"3s\"\nretries = 0\n";
    }
    static std::string retention() { return "[retention]\nkeep_last = 1\nmin_keep = 1\n"; }

    // The case's pipeline (there is one name per case; `file` only tells the files apart).
    std::filesystem::path write_pipeline(const std::string& body, const std::string& file = "pipeline") {
        const std::filesystem::path path = tmp_ / (file + ".toml");
        write_file(path, "name = \"" + name_ + "\"\nlock_dir = \"" + lock_dir().string() + "\"\n\n" + body);
        return path;
    }

    // `options.env` wins over the defaults set here (credentials, the database password, TMPDIR).
    CommandResult backhaul(const std::filesystem::path& pipeline, CommandOptions options = {}) {
        options.env.emplace("S3_ACCESS_KEY", SwiftS3::admin.access_key);
        options.env.emplace("S3_SECRET_KEY", SwiftS3::admin.secret_key);
        options.env.emplace("PG_PASSWORD", postgres_->password());
        options.env.emplace("TMPDIR", (tmp_ / "run-tmp").string());
        return run_command({BACKHAUL_BINARY, "run", pipeline.string(), "--no-progress"}, options);
    }

    // "key size etag last-modified" of every object in the case's bucket, one per line. The earlier backups are
    // single-part uploads, whose ETag is the MD5 of the bytes: an equal listing means byte-identical objects, and
    // LastModified shows one written again with the same bytes.
    std::string stored_objects() {
        CommandResult listed = s3().aws({"s3api", "list-objects", "--bucket", name_, "--query",
                                         "Contents[].[Key,Size,ETag,LastModified]", "--output", "text"});
        if (listed.exit_code != 0) throw std::runtime_error("list-objects failed: " + listed.err);
        return listed.out;
    }

    // Two complete backups of the case's pipeline through `endpoint` (the one the failing run will use: the manifest
    // records the destination), stored without retention, which the failing run enables with keep_last = 1: if it
    // ran after the failure, it would delete the older one.
    void store_earlier_backups(const std::string& endpoint) {
        const std::string small = (tmp_ / "earlier.bin").string();
        write_file(small, random_bytes(64 << 10, 3));
        const std::filesystem::path pipeline =
            write_pipeline(command_source("[\"cat\", \"" + small + "\"]") + s3_sink(endpoint), "earlier");
        for (int i = 0; i < 2; ++i) {
            CommandResult run = backhaul(pipeline);
            ASSERT_EQ(run.exit_code, 0) << run.err;
            wait_for_next_second();
        }
        earlier_ = stored_objects();
        ASSERT_EQ(std::count(earlier_.begin(), earlier_.end(), '\n'), 4)
            << "two backups and their manifests: " << earlier_;
    }

    // The case's pipeline with retention on and failure notifications to `hook`.
    std::filesystem::path failing_pipeline(const std::string& stages, const HttpReceiver& hook) {
        return write_pipeline(stages + notify(hook.url()) + retention());
    }

    // Everything a failed run must (not) leave behind. `cause` is part of the one error line.
    void expect_failed_cleanly(const CommandResult& run, const HttpReceiver& hook, const std::string& cause,
                               int exit_code = 1) {
        EXPECT_EQ(run.exit_code, exit_code) << run.err;
        EXPECT_THAT(run.err, HasSubstr(cause));
        ASSERT_FALSE(earlier_.empty()) << "the case stored no earlier backups to compare with";
        // Nothing under the failed run's key, no manifest, and the earlier backups byte-identical.
        EXPECT_EQ(stored_objects(), earlier_) << "the bucket changed; the failed run's key: " << key_of_run(run.err);
        EXPECT_EQ(s3().pending_uploads(name_), "") << "multipart uploads left pending; the run said: " << run.err;
        EXPECT_THAT(files_below(tmp_ / "run-tmp"), ::testing::IsEmpty()) << "temp files left";
        std::vector<nlohmann::json> requests = hook.wait_for(1);
        ASSERT_EQ(requests.size(), 1u) << "failure notifications received";
        nlohmann::json event = nlohmann::json::parse(requests[0]["body"].get<std::string>());
        EXPECT_EQ(event["outcome"], "failure");
        EXPECT_EQ(event["pipeline"], name_);
        EXPECT_THAT(event["error"].get<std::string>(), HasSubstr(cause));
    }

    // A run of the case's pipeline through `endpoint` that must store input.bin byte for byte.
    void expect_stored_intact(const std::string& endpoint) {
        CommandResult run = backhaul(write_pipeline(cat_input() + s3_sink(endpoint, "request_timeout = \"4s\"\n")));
        ASSERT_EQ(run.exit_code, 0) << run.err;
        const std::string key = key_of_run(run.err);
        ASSERT_FALSE(key.empty()) << run.err;
        EXPECT_TRUE(s3().download(name_, key) == read_file(tmp_ / "input.bin")) << "stored object differs";
        EXPECT_EQ(s3().pending_uploads(name_), "");
        EXPECT_THAT(files_below(tmp_ / "run-tmp"), ::testing::IsEmpty());
    }

    // An executable bash script in the case's directory that stands in for pg_dump: it answers `--version` as the real
    // one does (source-postgres asks before it dumps), and otherwise runs `body` with $real set to the real pg_dump.
    // Absolute paths only: the child's environment is not the test's.
    std::filesystem::path pg_dump_wrapper(const std::string& name, const std::string& body) {
        const std::filesystem::path path = tmp_ / name;
        write_file(path, "#!/bin/bash\nreal='" + (postgres_->bin_dir() / "pg_dump").string() +
                             "'\nif [[ $1 == --version ]]; then exec \"$real\" --version; fi\n" + body);
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        return path;
    }

    std::filesystem::path lock_dir() const { return tmp_ / "locks"; }

    TempDir tmp_;
    const std::string name_ = case_name();  // the case's bucket and pipeline
    std::string earlier_;                   // stored_objects() once the earlier backups were stored
    static inline std::unique_ptr<PostgresServer> postgres_;
    static inline std::string setup_error_;
};

// --- the source dies ------------------------------------------------------------------------------------------------

// pg_dump is SIGKILLed once exactly 12 MiB of its output (a quarter of it) have passed to backhaul, when two parts are
// on their way to S3; then the wrapper, the process backhaul started as pg_dump, dies of SIGKILL as well.
TEST_F(FaultInjection, PgDumpKilledAfter12MiBAborts) {
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(s3().endpoint()));
    const std::filesystem::path pg_dump = pg_dump_wrapper("pg_dump-killed", R"(coproc dump { exec "$real" "$@"; }
/usr/bin/head -c 12582912 <&"${dump[0]}"
kill -KILL "$dump_PID"
wait "$dump_PID"
kill -KILL $$
)");
    HttpReceiver hook;
    CommandResult run =
        backhaul(failing_pipeline(postgres_source(*postgres_, pg_dump) + s3_sink(s3().endpoint()), hook));
    expect_failed_cleanly(run, hook, "pg_dump");
    EXPECT_THAT(run.err, HasSubstr("signal 9"));
}

// pg_dump's output stops after exactly 12 MiB (pg_dump blocks on the full pipe, in its transaction), when the multipart
// upload exists and two parts are on their way; the server is stopped (pg_ctl stop -m immediate) at that point, then
// the rest of the output flows again and pg_dump, cut off from the server, exits 1. Not earlier: what the socket
// buffers still held would end the stream at a size that varies from run to run, sometimes just as the sink starts
// its multipart upload.
TEST_F(FaultInjection, PostgresStoppedMidDumpAborts) {
    std::string error;
    std::unique_ptr<PostgresServer> doomed = PostgresServer::start_or_null(&error, load_database);
    ASSERT_TRUE(doomed) << error;
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(s3().endpoint()));
    const std::filesystem::path paused = tmp_ / "dump-paused", resume = tmp_ / "dump-resume";
    ASSERT_EQ(::mkfifo(resume.c_str(), 0600), 0) << std::strerror(errno);
    const std::filesystem::path pg_dump =
        pg_dump_wrapper("pg_dump-paused", "set -o pipefail\nexec 4<>'" + resume.string() +
                                              "'\n\"$real\" \"$@\" | { /usr/bin/head -c 12582912; : > '" +
                                              paused.string() + "'; read -r -t 120 -u 4 _; exec /usr/bin/cat; }\n");
    HttpReceiver hook;
    CommandOptions options;
    options.env["PG_PASSWORD"] = doomed->password();
    bool stopped_mid_dump = false;
    options.while_running = [&](pid_t) {
        stopped_mid_dump = eventually([&] { return std::filesystem::exists(paused); });
        doomed.reset();  // pg_ctl stop -m immediate
        // Non-blocking: if the wrapper is gone there is no reader, and nothing to resume.
        const int fd = ::open(resume.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            (void)!::write(fd, "go\n", 3);
            ::close(fd);
        }
    };
    const std::filesystem::path pipeline =
        failing_pipeline(postgres_source(*doomed, pg_dump) + s3_sink(s3().endpoint()), hook);
    CommandResult run = backhaul(pipeline, options);
    EXPECT_TRUE(stopped_mid_dump) << "pg_dump's output never reached 12 MiB: " << run.err;
    expect_failed_cleanly(run, hook, "pg_dump");
}

// --- S3 misbehaves --------------------------------------------------------------------------------------------------

const char* const kSlowDown =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request "
    "rate.</Message></Error>";

TEST_F(FaultInjection, Transient500OnAPartCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::status, "PUT", "partNumber=2&", 2, 500, "<Error><Code>InternalError</Code></Error>"});
    expect_stored_intact(proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 2);
}

TEST_F(FaultInjection, Transient503SlowDownCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::status, "PUT", "partNumber=1&", 2, 503, kSlowDown});
    proxy.add({Fault::Kind::status, "POST", "uploads", 1, 503, kSlowDown});
    expect_stored_intact(proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 3);
}

TEST_F(FaultInjection, TransientConnectionResetCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::reset, "PUT", "partNumber=3&", 1, 0, ""});
    expect_stored_intact(proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 1);
}

TEST_F(FaultInjection, TransientStalledSocketCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::stall, "PUT", "partNumber=2&", 1, 0, ""});
    expect_stored_intact(proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 1);
}

// In the permanent cases the earlier backups go through the proxy before its fault is added: same destination.
TEST_F(FaultInjection, Permanent500OnPartsAborts) {
    FaultProxy proxy(s3().port());
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(proxy.endpoint()));
    proxy.add({Fault::Kind::status, "PUT", "partNumber=", -1, 500, "<Error><Code>InternalError</Code></Error>"});
    HttpReceiver hook;
    CommandResult run = backhaul(failing_pipeline(cat_input() + s3_sink(proxy.endpoint(), "max_retries = 1\n"), hook));
    expect_failed_cleanly(run, hook, "InternalError");
}

TEST_F(FaultInjection, PermanentStallAborts) {
    FaultProxy proxy(s3().port());
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(proxy.endpoint()));
    proxy.add({Fault::Kind::stall, "PUT", "partNumber=", -1, 0, ""});
    HttpReceiver hook;
    CommandResult run = backhaul(
        failing_pipeline(cat_input() + s3_sink(proxy.endpoint(), "max_retries = 1\nrequest_timeout = \"2s\"\n"), hook));
    expect_failed_cleanly(run, hook, "UploadPart");
}

TEST_F(FaultInjection, PermanentResetsAbort) {
    FaultProxy proxy(s3().port());
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(proxy.endpoint()));
    proxy.add({Fault::Kind::reset, "PUT", "partNumber=", -1, 0, ""});
    HttpReceiver hook;
    CommandResult run = backhaul(failing_pipeline(cat_input() + s3_sink(proxy.endpoint(), "max_retries = 1\n"), hook));
    expect_failed_cleanly(run, hook, "UploadPart");
}

TEST_F(FaultInjection, ErrorInside200OnCompleteAborts) {
    FaultProxy proxy(s3().port());
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(proxy.endpoint()));
    proxy.add({Fault::Kind::error_in_200, "POST", "uploadId=", -1, 200,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access "
               "Denied</Message></Error>"});
    HttpReceiver hook;
    CommandResult run = backhaul(failing_pipeline(cat_input() + s3_sink(proxy.endpoint()), hook));
    expect_failed_cleanly(run, hook, "AccessDenied");
}

TEST_F(FaultInjection, CredentialsRefusedAborts) {
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(s3().endpoint()));
    // Keys rotated or a role without write permission: S3 refuses the upload itself.
    HttpReceiver hook;
    CommandOptions options;
    options.env["S3_ACCESS_KEY"] = SwiftS3::reader.access_key;
    options.env["S3_SECRET_KEY"] = SwiftS3::reader.secret_key;
    CommandResult run = backhaul(failing_pipeline(cat_input() + s3_sink(s3().endpoint()), hook), options);
    expect_failed_cleanly(run, hook, "AccessDenied");
}

// --- the operator (or the system) stops the run ---------------------------------------------------------------------

class SignalledRun : public FaultInjection, public ::testing::WithParamInterface<int> {};

TEST_P(SignalledRun, MidUploadAbortsAndStopsTheSource) {
    const int signal_number = GetParam();
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(s3().endpoint()));
    // 12 MiB at once (two parts go out), then a source that never ends: the signal lands once the multipart upload
    // exists (the case's bucket has no other), while the source is blocked for good.
    const std::string marker = "3600." + std::to_string(::getpid()) + std::to_string(signal_number);
    const std::string source =
        command_source("[\"sh\", \"-c\", \"cat '" + (tmp_ / "input.bin").string() + "'; exec sleep " + marker + "\"]");
    HttpReceiver hook;
    CommandOptions options;
    bool upload_started = false;
    options.while_running = [&](pid_t backhaul_pid) {
        upload_started = eventually([&] { return !s3().pending_uploads(name_).empty(); });
        ::kill(backhaul_pid, signal_number);
    };
    CommandResult run = backhaul(failing_pipeline(source + s3_sink(s3().endpoint()), hook), options);
    EXPECT_TRUE(upload_started) << "no multipart upload began before the signal: " << run.err;
    expect_failed_cleanly(run, hook,
                          std::string("interrupted by ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT"));
    EXPECT_TRUE(eventually([&] { return !process_with_argument(marker); }, 5s))
        << "the source's child outlived the run";
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalledRun, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) { return info.param == SIGTERM ? "SIGTERM" : "SIGINT"; });

// --- local disk full ------------------------------------------------------------------------------------------------

TEST_F(FaultInjection, SinkLocalOnAFullFilesystemAborts) {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a 2 MiB tmpfs needs root";
    const std::filesystem::path mount_point = tmp_ / "small-disk";
    std::filesystem::create_directories(mount_point);
    ASSERT_EQ(::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=2m"), 0) << std::strerror(errno);
    struct Unmount {
        std::filesystem::path path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{mount_point};

    const std::string sink =
        "[sink]\nplugin = \"sink-local\"\npath = \"" + mount_point.string() + "\"\nkey = \"" + kKeyTemplate + "\"\n";
    // Two backups that fit, then one that cannot.
    const std::string small = (tmp_ / "small.bin").string();
    write_file(small, random_bytes(64 << 10, 3));
    const std::filesystem::path earlier =
        write_pipeline(command_source("[\"cat\", \"" + small + "\"]") + sink, "earlier");
    for (int i = 0; i < 2; ++i) {
        CommandResult good = backhaul(earlier);
        ASSERT_EQ(good.exit_code, 0) << good.err;
        wait_for_next_second();
    }
    auto contents = [&] {
        std::map<std::string, std::string> files;
        for (const std::string& file : files_below(mount_point)) files[file] = read_file(mount_point / file);
        return files;
    };
    const std::map<std::string, std::string> before = contents();
    ASSERT_EQ(before.size(), 4u) << "two backups and their manifests";

    HttpReceiver hook;
    CommandResult run = backhaul(failing_pipeline(cat_input() + sink, hook));
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("No space left on device"));
    EXPECT_EQ(contents(), before) << "a partial file or a changed backup was left";
    EXPECT_THAT(files_below(tmp_ / "run-tmp"), ::testing::IsEmpty());
    std::vector<nlohmann::json> requests = hook.wait_for(1);
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_THAT(requests[0]["body"].get<std::string>(), HasSubstr("\"outcome\":\"failure\""));
}

// --- the run cannot start -------------------------------------------------------------------------------------------

TEST_F(FaultInjection, LockAlreadyHeldExits4) {
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(s3().endpoint()));
    HttpReceiver hook;
    const std::filesystem::path pipeline = failing_pipeline(cat_input() + s3_sink(s3().endpoint()), hook);
    // The earlier runs left the pipeline's lock file in the case's own lock directory (it is never removed): hold it,
    // and anything else there, as a concurrent run would.
    struct HeldLocks {
        std::vector<int> fds;
        ~HeldLocks() {
            for (int fd : fds) ::close(fd);
        }
    } held;
    for (const std::string& name : files_below(lock_dir())) {
        int fd = ::open((lock_dir() / name).c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) held.fds.push_back(fd);
    }
    ASSERT_FALSE(held.fds.empty()) << "no lock file in " << lock_dir();
    CommandResult run = backhaul(pipeline);
    expect_failed_cleanly(run, hook, "lock", 4);
}

TEST_F(FaultInjection, SecretManagerDownAborts) {
    ASSERT_NO_FATAL_FAILURE(store_earlier_backups(s3().endpoint()));
    HttpReceiver hook;
    // Port 9 (discard): nothing listens there, and no probe can race another process for it.
    const std::string secrets =
        "[secrets.db]\nplugin = \"secret-ncloud\"\naccess_key = \"AK\"\nsecret_key = "
        "\"SK-not-used\"\nsecret_id = \"db\"\nendpoint = \"http://127.0.0.1:9\"\ntimeout = \"2s\"\nmax_retries = 1\n\n";
    std::string source = postgres_source(*postgres_);
    source.replace(source.find("${env:PG_PASSWORD}"), 18, "${secret:db.password}");
    CommandResult run = backhaul(failing_pipeline(secrets + source + s3_sink(s3().endpoint()), hook));
    expect_failed_cleanly(run, hook, "Secret Manager");
    EXPECT_EQ(key_of_run(run.err), "") << "the backup started without its secret";
}

// --- a failure that must not fail the backup ------------------------------------------------------------------------

TEST_F(FaultInjection, NotifierDownStillSucceeds) {
    const std::filesystem::path pipeline =
        write_pipeline(cat_input() + s3_sink(s3().endpoint()) +
                       "[[notify]]\nplugin = \"notify-webhook\"\non = [\"success\", \"failure\"]\nurl = \"" +
                       dead_url() + "\"\ntimeout = \"2s\"\nretries = 0\n");
    CommandResult run = backhaul(pipeline);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("notify-webhook"));
    const std::string key = key_of_run(run.err);
    ASSERT_FALSE(key.empty()) << run.err;
    EXPECT_TRUE(s3().download(name_, key) == read_file(tmp_ / "input.bin"));
}

}  // namespace
}  // namespace backhaul::testing
