// Fault injection (issue 8): each test breaks one thing under a real `backhaul run` and checks the promise "never
// loses or corrupts a backup". A failed run must exit non-zero, leave nothing under its key (nor a manifest), leave no
// pending multipart upload, no temp file and no child process, send the failure notification, and leave the backups
// of earlier runs exactly as they were (retention, configured to delete, must not have run). A transient fault must
// instead end in a backup byte-identical to the input.
#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

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

constexpr const char* kBucket = "faults";
// The pipeline whose earlier backups every failing test checks: retention would delete all but the newest.
constexpr const char* kGuarded = "guarded";
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

// The processes whose parent is `parent` and whose command name (/proc/PID/comm) is `name`.
std::vector<pid_t> children_named(pid_t parent, const std::string& name) {
    std::vector<pid_t> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string pid_text = entry.path().filename().string();
        if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        // "PID (COMM) STATE PPID ...": COMM may contain spaces and parentheses, so parse from the last ')'.
        const size_t close = line.rfind(')');
        const size_t open = line.find('(');
        if (close == std::string::npos || open == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == parent && line.substr(open + 1, close - open - 1) == name) found.push_back(std::stoi(pid_text));
    }
    return found;
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

// Polls `condition` every 50 ms for up to `limit`.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

// The key `backhaul run` logged that it was backing up to ("" if it got no that far).
std::string key_of_run(const std::string& log) {
    const std::string marker = "backing up to '";
    const size_t at = log.find(marker);
    if (at == std::string::npos) return "";
    const size_t start = at + marker.size();
    return log.substr(start, log.find('\'', start) - start);
}

class FaultInjection : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        postgres_ = PostgresServer::start_or_null(&setup_error_, [](PostgresServer& server) {
            load_database(server);
            SwiftS3::instance().create_bucket(kBucket);
        });
    }
    static void TearDownTestSuite() { postgres_.reset(); }

    void SetUp() override {
        ASSERT_TRUE(postgres_) << setup_error_;
        std::filesystem::create_directories(tmp_ / "run-tmp");
        write_file(tmp_ / "input.bin", random_bytes(12 << 20, 8));
        if (!guarded_seeded_) seed_guarded_backups();
        ASSERT_TRUE(guarded_seeded_) << "could not store the backups the failing runs must leave alone";
    }

    // A table of about 50 MB of text: pg_dump of it takes long enough (behind gzip -9) to be hit mid-stream.
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
               "\"\nregion = \"us-east-1\"\nbucket = \"" + kBucket + "\"\nkey = \"" + kKeyTemplate +
               "\"\naccess_key = \"${env:S3_ACCESS_KEY}\"\nsecret_key = \"${env:S3_SECRET_KEY}\"\n"
               "part_size = \"5MiB\"\nconcurrency = 2\nconnect_timeout = \"3s\"\n" +
               (extra.find("max_retries") == std::string::npos ? "max_retries = 3\n" : "") + extra;
    }
    std::string command_source(const std::string& argv) {
        return "[source]\nplugin = \"source-command\"\ncommand = " + argv + "\n";
    }
    std::string cat_input() { return command_source("[\"cat\", \"" + (tmp_ / "input.bin").string() + "\"]"); }
    std::string postgres_source(const PostgresServer& server) {
        return "[source]\nplugin = \"source-postgres\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(server.port()) +
               "\nuser = \"" + server.user() + "\"\ndatabase = \"app\"\npassword = \"${env:PG_PASSWORD}\"\n";
    }
    static std::string gzip(int level = 6) {
        return "[[transform]]\nplugin = \"compress-gzip\"\nlevel = " + std::to_string(level) + "\n";
    }
    std::string notify(const std::string& url) {
        return "[[notify]]\nplugin = \"notify-webhook\"\non = [\"failure\"]\nurl = \"" + url +
               "\"\ntimeout = \"3s\"\nretries = 0\n";
    }
    static std::string retention() { return "[retention]\nkeep_last = 1\nmin_keep = 1\n"; }

    std::filesystem::path write_pipeline(const std::string& name, const std::string& body) {
        const std::filesystem::path file = tmp_ / (name + ".toml");
        write_file(file, "name = \"" + name + "\"\nlock_dir = \"" + lock_dir().string() + "\"\n\n" + body);
        return file;
    }

    // `options.env` wins over the defaults set here (credentials, the database password, TMPDIR).
    CommandResult backhaul(const std::filesystem::path& pipeline, CommandOptions options = {}) {
        options.env.emplace("S3_ACCESS_KEY", SwiftS3::admin.access_key);
        options.env.emplace("S3_SECRET_KEY", SwiftS3::admin.secret_key);
        options.env.emplace("PG_PASSWORD", postgres_->password());
        options.env.emplace("TMPDIR", (tmp_ / "run-tmp").string());
        return run_command({BACKHAUL_BINARY, "run", pipeline.string(), "--no-progress"}, options);
    }

    // "key size etag" of every object of pipeline `name`, one per line.
    std::string stored_objects(const std::string& name) {
        CommandResult listed =
            s3().aws({"s3api", "list-objects", "--bucket", kBucket, "--prefix", "fault/" + name + "/", "--query",
                      "Contents[].[Key,Size,ETag]", "--output", "text"});
        if (listed.exit_code != 0) throw std::runtime_error("list-objects failed: " + listed.err);
        return listed.out;
    }

    // Two complete backups of kGuarded, stored before any fault (without retention, which the failing runs enable).
    void seed_guarded_backups() {
        const std::filesystem::path pipeline = write_pipeline(kGuarded, cat_input() + s3_sink(s3().endpoint()));
        for (int i = 0; i < 2; ++i) {
            if (i > 0) std::this_thread::sleep_for(1100ms);  // keys have one-second resolution
            CommandResult run = backhaul(pipeline);
            ASSERT_EQ(run.exit_code, 0) << run.err;
        }
        std::this_thread::sleep_for(1100ms);  // failing runs get keys of their own
        guarded_before_ = stored_objects(kGuarded);
        ASSERT_EQ(std::count(guarded_before_.begin(), guarded_before_.end(), '\n'), 4)
            << "two backups and their manifests: " << guarded_before_;
        guarded_seeded_ = true;
    }

    // A pipeline of kGuarded: retention on, failure notifications to `hook`.
    std::filesystem::path guarded_pipeline(const std::string& stages, const HttpReceiver& hook) {
        return write_pipeline(kGuarded, stages + notify(hook.url()) + retention());
    }

    // Everything a failed run must (not) leave behind. `cause` is part of the one error line.
    void expect_failed_cleanly(const CommandResult& run, const HttpReceiver& hook, const std::string& cause,
                               int exit_code = 1) {
        EXPECT_EQ(run.exit_code, exit_code) << run.err;
        EXPECT_THAT(run.err, HasSubstr(cause));
        const std::string key = key_of_run(run.err);
        if (!key.empty()) {
            EXPECT_FALSE(s3().exists(kBucket, key)) << key << " was committed";
            EXPECT_FALSE(s3().exists(kBucket, key + ".manifest.json")) << key << " has a manifest";
        }
        EXPECT_EQ(s3().pending_uploads(kBucket), "") << "multipart uploads left pending";
        EXPECT_EQ(stored_objects(kGuarded), guarded_before_) << "earlier backups changed";
        EXPECT_THAT(files_below(tmp_ / "run-tmp"), ::testing::IsEmpty()) << "temp files left";
        std::vector<nlohmann::json> requests = hook.wait_for(1);
        ASSERT_EQ(requests.size(), 1u) << "failure notifications received";
        nlohmann::json event = nlohmann::json::parse(requests[0]["body"].get<std::string>());
        EXPECT_EQ(event["outcome"], "failure");
        EXPECT_EQ(event["pipeline"], kGuarded);
        EXPECT_THAT(event["error"].get<std::string>(), HasSubstr(cause));
    }

    // A run of its own pipeline `name` through `endpoint` that must store input.bin byte for byte.
    void expect_stored_intact(const std::string& name, const std::string& endpoint) {
        CommandResult run =
            backhaul(write_pipeline(name, cat_input() + s3_sink(endpoint, "request_timeout = \"4s\"\n")));
        ASSERT_EQ(run.exit_code, 0) << run.err;
        const std::string key = key_of_run(run.err);
        ASSERT_FALSE(key.empty()) << run.err;
        EXPECT_TRUE(s3().download(kBucket, key) == read_file(tmp_ / "input.bin")) << "stored object differs";
        EXPECT_EQ(s3().pending_uploads(kBucket), "");
        EXPECT_THAT(files_below(tmp_ / "run-tmp"), ::testing::IsEmpty());
    }

    // Shared by the whole suite, so kGuarded's lock file from the seeding runs is there for the lock test.
    static std::filesystem::path lock_dir() {
        static TempDir locks;
        return locks.path();
    }

    TempDir tmp_;
    static inline std::unique_ptr<PostgresServer> postgres_;
    static inline std::string setup_error_;
    static inline bool guarded_seeded_ = false;
    static inline std::string guarded_before_;
};

// --- the source dies ------------------------------------------------------------------------------------------------

TEST_F(FaultInjection, PgDumpKilledAtARandomPointAborts) {
    HttpReceiver hook;
    std::random_device random;
    const auto delay = std::chrono::milliseconds(50 + random() % 500);
    bool killed = false;
    CommandOptions options;
    options.while_running = [&](pid_t backhaul_pid) {
        eventually([&] { return !children_named(backhaul_pid, "pg_dump").empty(); });
        std::this_thread::sleep_for(delay);
        for (pid_t pid : children_named(backhaul_pid, "pg_dump")) killed = ::kill(pid, SIGKILL) == 0 || killed;
    };
    CommandResult run =
        backhaul(guarded_pipeline(postgres_source(*postgres_) + gzip(9) + s3_sink(s3().endpoint()), hook), options);
    ASSERT_TRUE(killed) << "pg_dump was not running " << delay.count() << " ms after it started: " << run.err;
    expect_failed_cleanly(run, hook, "pg_dump");
    EXPECT_THAT(run.err, HasSubstr("signal 9"));
}

TEST_F(FaultInjection, PostgresStoppedMidDumpAborts) {
    std::string error;
    std::unique_ptr<PostgresServer> doomed = PostgresServer::start_or_null(&error);
    ASSERT_TRUE(doomed) << error;
    load_database(*doomed);
    HttpReceiver hook;
    CommandOptions options;
    options.env["PG_PASSWORD"] = doomed->password();
    options.while_running = [&](pid_t backhaul_pid) {
        eventually([&] { return !children_named(backhaul_pid, "pg_dump").empty(); });
        std::this_thread::sleep_for(200ms);
        doomed.reset();  // pg_ctl stop -m immediate
    };
    std::filesystem::path pipeline =
        guarded_pipeline(postgres_source(*doomed) + gzip(9) + s3_sink(s3().endpoint()), hook);
    CommandResult run = backhaul(pipeline, options);
    EXPECT_FALSE(doomed) << "the server was not stopped mid-dump";
    expect_failed_cleanly(run, hook, "pg_dump");
}

// --- S3 misbehaves --------------------------------------------------------------------------------------------------

const char* const kSlowDown =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request "
    "rate.</Message></Error>";

TEST_F(FaultInjection, Transient500OnAPartCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::status, "PUT", "partNumber=2&", 2, 500, "<Error><Code>InternalError</Code></Error>"});
    expect_stored_intact("transient-500", proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 2);
}

TEST_F(FaultInjection, Transient503SlowDownCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::status, "PUT", "partNumber=1&", 2, 503, kSlowDown});
    proxy.add({Fault::Kind::status, "POST", "uploads", 1, 503, kSlowDown});
    expect_stored_intact("transient-503", proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 3);
}

TEST_F(FaultInjection, TransientConnectionResetCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::reset, "PUT", "partNumber=3&", 1, 0, ""});
    expect_stored_intact("transient-reset", proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 1);
}

TEST_F(FaultInjection, TransientStalledSocketCompletesIntact) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::stall, "PUT", "partNumber=2&", 1, 0, ""});
    expect_stored_intact("transient-stall", proxy.endpoint());
    EXPECT_EQ(proxy.injected(), 1);
}

TEST_F(FaultInjection, Permanent500OnPartsAborts) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::status, "PUT", "partNumber=", -1, 500, "<Error><Code>InternalError</Code></Error>"});
    HttpReceiver hook;
    CommandResult run = backhaul(guarded_pipeline(cat_input() + s3_sink(proxy.endpoint(), "max_retries = 1\n"), hook));
    expect_failed_cleanly(run, hook, "InternalError");
}

TEST_F(FaultInjection, PermanentStallAborts) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::stall, "PUT", "partNumber=", -1, 0, ""});
    HttpReceiver hook;
    CommandResult run = backhaul(
        guarded_pipeline(cat_input() + s3_sink(proxy.endpoint(), "max_retries = 1\nrequest_timeout = \"2s\"\n"), hook));
    expect_failed_cleanly(run, hook, "UploadPart");
}

TEST_F(FaultInjection, PermanentResetsAbort) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::reset, "PUT", "partNumber=", -1, 0, ""});
    HttpReceiver hook;
    CommandResult run = backhaul(guarded_pipeline(cat_input() + s3_sink(proxy.endpoint(), "max_retries = 1\n"), hook));
    expect_failed_cleanly(run, hook, "UploadPart");
}

TEST_F(FaultInjection, ErrorInside200OnCompleteAborts) {
    FaultProxy proxy(s3().port());
    proxy.add({Fault::Kind::error_in_200, "POST", "uploadId=", -1, 200,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access "
               "Denied</Message></Error>"});
    HttpReceiver hook;
    CommandResult run = backhaul(guarded_pipeline(cat_input() + s3_sink(proxy.endpoint()), hook));
    expect_failed_cleanly(run, hook, "AccessDenied");
}

TEST_F(FaultInjection, CredentialsRefusedAborts) {
    // Keys rotated or a role without write permission: S3 refuses the upload itself.
    HttpReceiver hook;
    CommandOptions options;
    options.env["S3_ACCESS_KEY"] = SwiftS3::reader.access_key;
    options.env["S3_SECRET_KEY"] = SwiftS3::reader.secret_key;
    CommandResult run = backhaul(guarded_pipeline(cat_input() + s3_sink(s3().endpoint()), hook), options);
    expect_failed_cleanly(run, hook, "AccessDenied");
}

// --- the operator (or the system) stops the run ---------------------------------------------------------------------

class SignalledRun : public FaultInjection, public ::testing::WithParamInterface<int> {};

TEST_P(SignalledRun, MidUploadAbortsAndStopsTheSource) {
    const int signal_number = GetParam();
    // 12 MiB at once (two parts go out), then a source that never ends: the signal lands mid-upload.
    const std::string marker = "3600." + std::to_string(::getpid()) + std::to_string(signal_number);
    const std::string source =
        command_source("[\"sh\", \"-c\", \"cat '" + (tmp_ / "input.bin").string() + "'; exec sleep " + marker + "\"]");
    HttpReceiver hook;
    CommandOptions options;
    options.while_running = [&](pid_t backhaul_pid) {
        eventually([&] { return !s3().pending_uploads(kBucket).empty(); });
        ::kill(backhaul_pid, signal_number);
    };
    CommandResult run = backhaul(guarded_pipeline(source + s3_sink(s3().endpoint()), hook), options);
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
    // A backup that fits, then one that cannot.
    const std::string small = (tmp_ / "small.bin").string();
    write_file(small, random_bytes(64 << 10, 3));
    CommandResult good = backhaul(write_pipeline("local", command_source("[\"cat\", \"" + small + "\"]") + sink));
    ASSERT_EQ(good.exit_code, 0) << good.err;
    const std::vector<std::string> before = files_below(mount_point);
    ASSERT_EQ(before.size(), 2u) << "the backup and its manifest";
    std::this_thread::sleep_for(1100ms);

    HttpReceiver hook;
    CommandResult run = backhaul(write_pipeline("local", cat_input() + sink + notify(hook.url()) + retention()));
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("No space left on device"));
    EXPECT_EQ(files_below(mount_point), before) << "a partial file or a changed backup was left";
    EXPECT_THAT(files_below(tmp_ / "run-tmp"), ::testing::IsEmpty());
    std::vector<nlohmann::json> requests = hook.wait_for(1);
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_THAT(requests[0]["body"].get<std::string>(), HasSubstr("\"outcome\":\"failure\""));
}

// --- the run cannot start -------------------------------------------------------------------------------------------

TEST_F(FaultInjection, LockAlreadyHeldExits4) {
    HttpReceiver hook;
    const std::filesystem::path pipeline = guarded_pipeline(cat_input() + s3_sink(s3().endpoint()), hook);
    // The seeding runs of kGuarded left its lock file (it is never removed): hold it as a concurrent run would.
    // Its name hashes the destination, which differs between direct and proxied endpoints: hold every one.
    struct HeldLocks {
        std::vector<int> fds;
        ~HeldLocks() {
            for (int fd : fds) ::close(fd);
        }
    } held;
    for (const std::string& name : files_below(lock_dir())) {
        if (!name.starts_with(std::string(kGuarded) + "-")) continue;
        int fd = ::open((lock_dir() / name).c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) held.fds.push_back(fd);
    }
    ASSERT_FALSE(held.fds.empty()) << "no lock file of " << kGuarded << " in " << lock_dir();
    CommandResult run = backhaul(pipeline);
    expect_failed_cleanly(run, hook, "lock", 4);
}

TEST_F(FaultInjection, SecretManagerDownAborts) {
    HttpReceiver hook;
    const std::string secrets =
        "[secrets.db]\nplugin = \"secret-ncloud\"\naccess_key = \"AK\"\nsecret_key = "
        "\"SK-not-used\"\nsecret_id = \"db\"\nendpoint = \"http://127.0.0.1:" +
        std::to_string(PostgresServer::free_port()) + "\"\ntimeout = \"2s\"\nmax_retries = 1\n\n";
    std::string source = postgres_source(*postgres_);
    source.replace(source.find("${env:PG_PASSWORD}"), 18, "${secret:db.password}");
    CommandResult run = backhaul(guarded_pipeline(secrets + source + s3_sink(s3().endpoint()), hook));
    expect_failed_cleanly(run, hook, "Secret Manager");
    EXPECT_EQ(key_of_run(run.err), "") << "the backup started without its secret";
}

// --- a failure that must not fail the backup ------------------------------------------------------------------------

TEST_F(FaultInjection, NotifierDownStillSucceeds) {
    const std::filesystem::path pipeline =
        write_pipeline("notifier-down", cat_input() + s3_sink(s3().endpoint()) +
                                            "[[notify]]\nplugin = \"notify-webhook\"\non = [\"success\", \"failure\"]\n"
                                            "url = \"" +
                                            dead_url() + "\"\ntimeout = \"2s\"\nretries = 0\n");
    CommandResult run = backhaul(pipeline);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("notify-webhook"));
    const std::string key = key_of_run(run.err);
    ASSERT_FALSE(key.empty()) << run.err;
    EXPECT_TRUE(s3().download(kBucket, key) == read_file(tmp_ / "input.bin"));
}

}  // namespace
}  // namespace backhaul::testing
