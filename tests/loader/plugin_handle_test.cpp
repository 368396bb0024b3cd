// The host's adapter over the C ABI (loader/plugin_handle) against a real shared object that journals every call it
// receives: which entries are called in which order (abort before destroy for an upload that did not commit), how
// each status becomes a StageError, and that entries of a later ABI minor are not read from an older plugin.
#include "loader/plugin_handle.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "loader/plugin_registry.hpp"
#include "plugin_harness.hpp"
#include "util/stream_name.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class PluginHandleTest : public ::testing::Test {
  protected:
    void SetUp() override {
        registry_.load_file(fs::path(LOADER_FIXTURES_DIR) / "adapter" / "journal_sink.so");
        registry_.load_file(fs::path(LOADER_FIXTURES_DIR) / "adapter" / "journal_sink_1_0.so");
        dir_ = fs::temp_directory_path() / ("plugin_handle_test." + std::to_string(::getpid()) + "." +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    const bh_plugin_descriptor& plugin(const char* name = "sink-journal") const {
        return *registry_.find(name)->descriptor;
    }
    const LoadedPlugin& loaded(const char* name) const { return *registry_.find(name); }
    fs::path journal(const std::string& name = "journal") const { return dir_ / name; }
    std::vector<std::string> calls(const std::string& name = "journal") const {
        std::ifstream in(journal(name));
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }

    // Option values in the fixture's table order: journal, fail, quiet, status.
    struct Options {
        std::string journal;
        std::string fail = "none";
        bool quiet = false;
        bh_status status = BH_FATAL;
        std::vector<bh_option_value> values() const {
            return {{"journal", BH_OPT_STRING, BH_VALUE_SET, journal.c_str(), 0, nullptr, 0},
                    {"fail", BH_OPT_ENUM, BH_VALUE_SET, fail.c_str(), 0, nullptr, 0},
                    {"quiet", BH_OPT_BOOL, BH_VALUE_SET, nullptr, quiet ? 1 : 0, nullptr, 0},
                    {"status", BH_OPT_INT, BH_VALUE_SET, nullptr, status, nullptr, 0}};
        }
    };
    Options failing(const std::string& call, bh_status status = BH_FATAL, bool quiet = false) const {
        return Options{journal().string(), call, quiet, status};
    }
    Options healthy() const { return failing("none"); }

    // The StageFailure `body` throws.
    template <class Body>
    static StageError failure_of(Body&& body) {
        try {
            body();
        } catch (const StageFailure& failure) {
            return failure.error();
        }
        ADD_FAILURE() << "no StageFailure";
        return {};
    }

    PluginRegistry registry_;
    harness::FakeHost host_;
    fs::path dir_;
};

const std::span<const uint8_t> kData(reinterpret_cast<const uint8_t*>("12345"), 5);

TEST_F(PluginHandleTest, an_upload_that_did_not_commit_is_aborted_before_the_instance_is_destroyed) {
    {
        PluginHandle sink(plugin(), "sink (sink-journal)", host_, healthy().values());
        UploadHandle upload = sink.begin("k");
        upload.write(kData);
    }
    EXPECT_THAT(calls(), ElementsAre("create", "begin k", "write 5", "abort k", "destroy"));
}

TEST_F(PluginHandleTest, a_committed_upload_is_not_aborted) {
    {
        PluginHandle sink(plugin(), "sink (sink-journal)", host_, healthy().values());
        UploadHandle upload = sink.begin("k");
        upload.write(kData);
        upload.commit();
        EXPECT_FALSE(upload.is_open());
    }
    EXPECT_THAT(calls(), ElementsAre("create", "begin k", "write 5", "commit k", "destroy"));
}

TEST_F(PluginHandleTest, a_moved_upload_is_aborted_once_by_its_new_owner) {
    {
        PluginHandle sink(plugin(), "sink (sink-journal)", host_, healthy().values());
        std::optional<UploadHandle> kept;
        {
            UploadHandle upload = sink.begin("k");
            kept.emplace(std::move(upload));
            EXPECT_FALSE(upload.is_open());
        }
        EXPECT_THAT(calls(), ElementsAre("create", "begin k"));
        kept.reset();
        EXPECT_THAT(calls(), ElementsAre("create", "begin k", "abort k"));
    }
    EXPECT_EQ(calls().back(), "destroy");
}

TEST_F(PluginHandleTest, a_failed_commit_is_a_stage_error_and_leaves_nothing_to_abort) {
    {
        PluginHandle sink(plugin(), "sink (sink-journal)", host_, failing("commit").values());
        UploadHandle upload = sink.begin("k");
        StageError error = failure_of([&] { upload.commit(); });
        EXPECT_EQ(error.stage, "sink (sink-journal)");
        EXPECT_EQ(error.kind, BH_KIND_SINK);
        EXPECT_EQ(error.call, "commit");
        EXPECT_EQ(error.status, BH_FATAL);
        EXPECT_EQ(error.message, "injected commit failure");
        EXPECT_EQ(error.line(), "sink (sink-journal): injected commit failure");
        EXPECT_FALSE(upload.is_open());
    }
    EXPECT_THAT(calls(), ElementsAre("create", "begin k", "commit k", "destroy"));
}

TEST_F(PluginHandleTest, the_status_is_kept_and_a_silent_failure_gets_a_line_naming_the_call) {
    PluginHandle sink(plugin(), "sink (sink-journal)", host_, failing("write", BH_RETRYABLE, true).values());
    UploadHandle upload = sink.begin("k");
    StageError error = failure_of([&] { upload.write(kData); });
    EXPECT_EQ(error.status, BH_RETRYABLE);
    EXPECT_EQ(error.call, "write");
    EXPECT_EQ(error.message, "write failed (retryable)");

    StageError begin = failure_of([&] {
        PluginHandle quiet(plugin(), "sink (sink-journal)", host_, failing("begin", 77, true).values());
        quiet.begin("x/y");
    });
    EXPECT_EQ(begin.status, 77);
    EXPECT_EQ(begin.message, "begin 'x/y' failed (status 77)");
}

TEST_F(PluginHandleTest, a_message_is_taken_once_and_never_reused_for_a_later_failure) {
    PluginHandle sink(plugin(), "sink (sink-journal)", host_, failing("stat").values());
    EXPECT_EQ(failure_of([&] { sink.stat("a"); }).message, "injected stat failure");
    // The plugin said nothing this time: the earlier message must not be reported again.
    EXPECT_EQ(sink.error(BH_FATAL, "stat").message, "stat failed (fatal)");
}

TEST_F(PluginHandleTest, a_failed_create_is_a_stage_error_and_nothing_is_destroyed) {
    StageError refused = failure_of(
        [&] { PluginHandle(plugin(), "sink (sink-journal)", host_, failing("create", BH_INVALID_CONFIG).values()); });
    EXPECT_EQ(refused.call, "create");
    EXPECT_EQ(refused.status, BH_INVALID_CONFIG);
    EXPECT_EQ(refused.message, "injected create failure");

    // BH_OK without an instance is unusable: a failure too, and there is nothing to destroy.
    StageError nothing = failure_of(
        [&] { PluginHandle(plugin(), "sink (sink-journal)", host_, failing("create_null", BH_OK).values()); });
    EXPECT_EQ(nothing.status, BH_FATAL);
    EXPECT_EQ(nothing.message, "create failed (fatal)");
    EXPECT_THAT(calls(), ElementsAre("create", "create"));
}

TEST_F(PluginHandleTest, an_object_is_read_to_its_end_and_the_reader_closed) {
    {
        PluginHandle sink(plugin(), "sink (sink-journal)", host_, healthy().values());
        ObjectReaderHandle reader = sink.open_read("k");
        uint8_t buffer[16];
        ASSERT_EQ(reader.read(buffer), 5u);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(buffer), 5), "hello");
        EXPECT_EQ(reader.read(buffer), 0u);
    }
    EXPECT_THAT(calls(), ElementsAre("create", "open_read k", "read", "read", "close_read k", "destroy"));
}

TEST_F(PluginHandleTest, a_read_of_more_bytes_than_asked_for_is_the_plugins_error) {
    PluginHandle sink(plugin(), "sink (sink-journal)", host_, failing("read_more").values());
    ObjectReaderHandle reader = sink.open_read("k");
    uint8_t buffer[16];
    StageError error = failure_of([&] { reader.read(buffer); });
    EXPECT_EQ(error.status, BH_FATAL);
    EXPECT_EQ(error.call, "read");
    EXPECT_EQ(error.line(), "sink (sink-journal): read returned more bytes than asked for");
}

TEST_F(PluginHandleTest, empty_reads_are_repeated_until_the_host_cancels) {
    PluginHandle sink(plugin(), "sink (sink-journal)", host_, failing("read_empty").values());
    ObjectReaderHandle reader = sink.open_read("k");
    host_.cancel();
    uint8_t buffer[16];
    EXPECT_EQ(failure_of([&] { reader.read(buffer); }).status, BH_CANCELLED);
}

TEST_F(PluginHandleTest, list_stops_when_asked_and_stat_and_remove_pass_their_keys) {
    {
        PluginHandle sink(plugin(), "sink (sink-journal)", host_, healthy().values());
        std::vector<std::string> seen;
        sink.list("p/", [&](const StoredObject& o) {
            seen.push_back(o.key + "=" + std::to_string(o.size) + "@" + std::to_string(o.mtime_unix_ms));
            return seen.size() < 2;
        });
        EXPECT_THAT(seen, ElementsAre("a=1@1000", "b=2@2000"));
        StoredObject info = sink.stat("a");
        EXPECT_EQ(info.key, "a");
        EXPECT_EQ(info.size, 5);
        EXPECT_EQ(info.mtime_unix_ms, 42);
        const std::vector<std::string> keys = {"a", "b"};
        sink.remove(keys);
    }
    EXPECT_THAT(calls(), ElementsAre("create", "list p/", "stat a", "remove a b", "destroy"));
}

TEST_F(PluginHandleTest, check_reports_each_line_and_a_failed_check_is_a_stage_error) {
    PluginHandle sink(plugin(), "sink (sink-journal)", host_, failing("check").values());
    ASSERT_TRUE(sink.has_check());
    std::vector<PluginCheckLine> lines;
    StageError error =
        failure_of([&] { sink.check_live("probe/key", [&](const PluginCheckLine& line) { lines.push_back(line); }); });
    EXPECT_EQ(error.call, "check");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].name, "journal is writable");
    EXPECT_FALSE(lines[0].ok);
    EXPECT_EQ(lines[0].fix, "fix it");
    EXPECT_EQ(calls().back(), "check probe/key");
}

// The 1.0 build sets its check field anyway: only the minor says whether the field exists.
TEST_F(PluginHandleTest, a_plugin_built_for_abi_1_0_has_no_check_entry_whatever_its_descriptor_holds) {
    const bh_plugin_descriptor& old = plugin("sink-journal-old");
    ASSERT_EQ(old.abi_minor, 0u);
    {
        PluginHandle sink(old, "sink (sink-journal-old)", host_, healthy().values());
        EXPECT_FALSE(sink.has_check());
        EXPECT_THROW(sink.check_live("", [](const PluginCheckLine&) {}), std::logic_error);
        sink.begin("k").commit();
    }
    EXPECT_THAT(calls(), ElementsAre("create", "begin k", "commit k", "destroy"));
    const std::vector<bh_option_value> values = healthy().values();
    EXPECT_EQ(validate_options(old, values, [](std::string_view, std::string_view) { FAIL(); }), BH_OK);
}

TEST_F(PluginHandleTest, a_call_of_another_kinds_table_is_a_host_bug) {
    PluginHandle sink(plugin(), "sink (sink-journal)", host_, healthy().values());
    EXPECT_THROW(sink.open_source(), std::logic_error);
    EXPECT_THROW(sink.notify(bh_run_event{}), std::logic_error);
}

// Several instances of one plugin, each driven from its own thread, as several sinks of one run will be.
TEST_F(PluginHandleTest, instances_are_independent_across_threads) {
    constexpr int kInstances = 4;
    std::vector<std::unique_ptr<harness::FakeHost>> hosts;
    std::vector<std::thread> threads;
    for (int i = 0; i < kInstances; ++i) hosts.push_back(std::make_unique<harness::FakeHost>());
    {
        std::vector<std::unique_ptr<PluginHandle>> sinks;
        for (int i = 0; i < kInstances; ++i) {
            Options options = healthy();
            options.journal = journal("journal" + std::to_string(i)).string();
            if (i % 2) options.fail = "write";
            sinks.push_back(std::make_unique<PluginHandle>(plugin(), "sink[" + std::to_string(i) + "] (sink-journal)",
                                                           *hosts[i], options.values()));
        }
        std::vector<std::optional<StageError>> errors(kInstances);
        for (int i = 0; i < kInstances; ++i) {
            threads.emplace_back([&, i] {
                try {
                    UploadHandle upload = sinks[i]->begin("k" + std::to_string(i));
                    for (int n = 0; n < 100; ++n) upload.write(kData);
                    upload.commit();
                } catch (const StageFailure& failure) {
                    errors[i] = failure.error();
                }
            });
        }
        for (std::thread& t : threads) t.join();
        for (int i = 0; i < kInstances; ++i) {
            SCOPED_TRACE(i);
            if (i % 2) {
                ASSERT_TRUE(errors[i]);
                EXPECT_EQ(errors[i]->stage, "sink[" + std::to_string(i) + "] (sink-journal)");
                EXPECT_EQ(errors[i]->message, "injected write failure");
            } else {
                EXPECT_FALSE(errors[i]);
            }
        }
    }
    for (int i = 0; i < kInstances; ++i) {
        const std::string key = "k" + std::to_string(i);
        const std::vector<std::string> journal = calls("journal" + std::to_string(i));
        ASSERT_FALSE(journal.empty());
        EXPECT_EQ(journal.front(), "create");
        EXPECT_EQ(journal.back(), "destroy");
        EXPECT_EQ(journal[journal.size() - 2], (i % 2 ? "abort " : "commit ") + key);
    }
}

}  // namespace
}  // namespace backhaul

namespace backhaul {
namespace {

// ABI 1.3 sets, through the C++ SDK's glue and the host adapter: a source says from its options alone whether it
// yields a set, lists its streams with their variables, and opens and restores each by name.
class SetSourceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        registry_.load_file(fs::path(LOADER_FIXTURES_DIR) / "adapter" / "source_set.so");
        log_ = fs::temp_directory_path() / ("source_set_test." + std::to_string(::getpid()) + "." +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove(log_);
    }
    void TearDown() override { fs::remove(log_); }
    const bh_plugin_descriptor& plugin() const { return *registry_.find("source-set")->descriptor; }
    harness::OptionList options(std::vector<std::string> streams) const {
        return {{"streams", std::move(streams)}, {"restore_log", log_.string()}};
    }
    static std::string read_all(SourceStreamHandle& stream) {
        std::string out;
        std::vector<uint8_t> buffer(64);
        while (size_t n = stream.read(buffer)) out.append(buffer.begin(), buffer.begin() + n);
        return out;
    }
    std::string restored() const {
        std::ifstream in(log_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    PluginRegistry registry_;
    harness::FakeHost host_;
    fs::path log_;
};

TEST_F(SetSourceTest, the_options_alone_say_whether_the_source_yields_a_set) {
    harness::OptionValues single(plugin().options, plugin().option_count, options({}));
    harness::OptionValues set(plugin().options, plugin().option_count, options({"a"}));
    EXPECT_FALSE(produces_set(plugin(), {single.data(), single.size()}));
    EXPECT_TRUE(produces_set(plugin(), {set.data(), set.size()}));
    // A source of an older minor has no set entries: never a set.
    PluginRegistry older;
    older.load_file(fs::path(LOADER_FIXTURES_DIR) / "older" / "abi_1_0.so");
    EXPECT_FALSE(produces_set(*older.find("source-older")->descriptor, {}));
}

TEST_F(SetSourceTest, streams_are_listed_in_order_with_their_variables_and_opened_by_name) {
    harness::OptionValues values(plugin().options, plugin().option_count,
                                 options({"globals", "databases/we\"ird name", "databases/Café"}));
    PluginHandle source(plugin(), "source (source-set)", host_, {values.data(), values.size()});
    std::vector<SetStream> streams = source.list_streams();
    ASSERT_EQ(streams.size(), 3u);
    EXPECT_EQ(streams[0].name, "globals");
    EXPECT_EQ(streams[0].restore_phase, 0);
    EXPECT_EQ(streams[1].name, "databases/we\"ird name");
    EXPECT_EQ(streams[1].ext, ".txt");
    EXPECT_EQ(streams[1].restore_phase, 1);
    EXPECT_EQ(streams[2].variables, (std::map<std::string, std::string>{{"database", "Café"}, {"index", "2"}}));
    EXPECT_EQ(host_.variables().at("expected_bytes"), "30");

    // Two streams of one instance open at once, read in any order.
    SourceStreamHandle second = source.open_stream(streams[2].name);
    SourceStreamHandle first = source.open_stream(streams[1].name);
    EXPECT_EQ(read_all(second), "databases/Café\ndatabases/Café\ndatabases/Café\n");
    EXPECT_EQ(read_all(first), "databases/we\"ird name\ndatabases/we\"ird name\ndatabases/we\"ird name\n");

    StageError error;
    try {
        source.open_stream("databases/missing");
        ADD_FAILURE() << "opened a stream that was not listed";
    } catch (const StageFailure& failure) {
        error = failure.error();
    }
    EXPECT_EQ(error.call, "open_stream");
    EXPECT_EQ(error.line(), "source (source-set): no stream named 'databases/missing' in this set");
}

TEST_F(SetSourceTest, a_stream_is_restored_from_what_the_manifest_recorded_with_the_restore_options) {
    harness::OptionValues values(plugin().options, plugin().option_count, options({"globals"}));
    PluginHandle source(plugin(), "source (source-set)", host_, {values.data(), values.size()});
    harness::OptionValues restore_options(plugin().restore_options, plugin().restore_option_count, {{"tag", " t"}});
    // The instance need not have listed the stream: a restore knows it from the manifest.
    SetStream recorded{"databases/orders", ".txt", {{"database", "orders"}}, 1};
    RestoreTargetHandle target = source.open_restore_stream(recorded, {restore_options.data(), restore_options.size()});
    target.write(kData);
    target.finish();
    EXPECT_EQ(restored(), "[databases/orders phase 1 database=orders t]12345");
}

TEST_F(SetSourceTest, malformed_or_repeated_stream_names_are_refused) {
    for (const auto& [names, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"a", "a"}, "two streams named 'a'"},
             {{"databases/"}, "stream name 'databases/' has an empty segment"},
             {{"../escape"}, "stream name '../escape' has a segment '..'"},
             {{"a//b"}, "stream name 'a//b' has an empty segment"},
         }) {
        harness::OptionValues values(plugin().options, plugin().option_count, options(names));
        PluginHandle source(plugin(), "source (source-set)", host_, {values.data(), values.size()});
        try {
            source.list_streams();
            ADD_FAILURE() << "accepted " << message;
        } catch (const StageFailure& failure) {
            EXPECT_EQ(failure.error().call, "list_streams");
            EXPECT_THAT(failure.error().message, ::testing::HasSubstr(message));
        }
    }
}

TEST(stream_names, any_utf8_in_segments_is_well_formed) {
    EXPECT_EQ(stream_name_problem("databases/Ünï \"q\" -x"), "");
    EXPECT_EQ(stream_name_problem("."), "has a segment '.'");
    EXPECT_EQ(stream_name_problem(""), "is empty");
    EXPECT_EQ(stream_name_problem(std::string_view("a\0b", 3)), "contains a NUL byte");
}

// ABI 1.4's memory_min: read from a plugin built for 1.4, never from one built before it (whose descriptor may end
// before the field; the fixture sets it in both builds to prove the host does not look).
TEST_F(PluginHandleTest, MemoryMinIsReadOnlyFromAPluginBuiltForABI14) {
    EXPECT_EQ(loaded("sink-journal").memory_min(), uint64_t{32} << 20);
    EXPECT_EQ(loaded("sink-journal-old").memory_min(), 0u);
}

}  // namespace
}  // namespace backhaul
