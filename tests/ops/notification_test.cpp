// Notifications through the real binary to a local HTTP receiver: success, and each failure class (run failure,
// invalid pipeline, plugin that does not load, lock contention, manifest and retention errors); a dead receiver never
// changes the exit code.
#include <thread>

#include "http_receiver.hpp"
#include "ops_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class NotifyTest : public OpsTest {
  protected:
    std::string webhook(const std::string& on = "[\"failure\"]") const {
        return "[[notify]]\nplugin = \"notify-webhook\"\non = " + on + "\nurl = \"" + receiver_.url() + "\"\n";
    }
    // The one event the receiver got.
    nlohmann::json event() {
        auto requests = receiver_.wait_for(1);
        if (requests.size() != 1) return {{"requests", requests.size()}};
        return nlohmann::json::parse(requests[0]["body"].get<std::string>());
    }
    HttpReceiver receiver_;
};

TEST_F(NotifyTest, SuccessIsSentOnlyToNotifiersThatAskForIt) {
    auto file = pipeline(cat_source(), gzip, local_sink(), webhook("[\"success\", \"failure\"]"));
    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    nlohmann::json e = event();
    EXPECT_EQ(e["pipeline"], "ops");
    EXPECT_EQ(e["outcome"], "success");
    EXPECT_EQ(e["key"], only_data_key());
    EXPECT_EQ(e["error"], "");
    EXPECT_EQ(e["raw_bytes"], input_.size());
    EXPECT_EQ(e["stored_bytes"], std::filesystem::file_size(sink_dir() / only_data_key()));
    EXPECT_EQ(e["backup_complete"], true);
    EXPECT_EQ(e["data_committed"], true);
    EXPECT_EQ(e["shrunken"], false);
    EXPECT_EQ(e["untouched_objects"], 0);

    HttpReceiver failure_only;
    auto quiet = pipeline(cat_source(), gzip, local_sink("{pipeline}/second{ext}"),
                          "[[notify]]\nplugin = \"notify-webhook\"\nurl = \"" + failure_only.url() + "\"\n");
    ASSERT_EQ(backhaul({"run", quiet.string()}).exit_code, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(failure_only.requests().empty());
}

TEST_F(NotifyTest, RunFailure) {
    auto file = pipeline(shell_source("echo boom >&2; exit 3"), gzip, local_sink(), webhook());
    EXPECT_EQ(backhaul({"run", file.string()}).exit_code, 1);
    nlohmann::json e = event();
    EXPECT_EQ(e["outcome"], "failure");
    EXPECT_EQ(e["error"], "source (source-command): command 'sh' exited with status 3: boom");
}

TEST_F(NotifyTest, InvalidPipeline) {
    auto file = pipeline(cat_source() + "colour = \"red\"\n", gzip, local_sink(), webhook());
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_THAT(event()["error"].get<std::string>(),
                StartsWith(file.string() + ":8:1: source (source-command): unknown option 'colour'"));
}

TEST_F(NotifyTest, PluginThatDoesNotLoad) {
    std::filesystem::create_directories(tmp_ / "plugins");
    write_file(tmp_ / "plugins" / "broken.so", "not an ELF file");
    auto file = pipeline(cat_source(), gzip, local_sink(), webhook());
    CommandOptions options;
    options.env["BACKHAUL_PLUGIN_PATH"] = (tmp_ / "plugins").string();
    CommandResult run = backhaul({"run", file.string()}, options);
    EXPECT_EQ(run.exit_code, 3);
    EXPECT_THAT(event()["error"].get<std::string>(),
                StartsWith((tmp_ / "plugins" / "broken.so").string() + ": cannot load: "));
}

TEST_F(NotifyTest, LockContention) {
    auto file = pipeline(gated_source(), gzip, local_sink(), webhook());
    CommandResult first;
    std::thread holder([&] { first = backhaul({"run", file.string()}); });
    ASSERT_FALSE(wait_for_lock_holder(lock_dir()).empty());
    CommandResult second = backhaul({"run", file.string()});
    open_gate();
    holder.join();
    EXPECT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(second.exit_code, 4);
    EXPECT_THAT(event()["error"].get<std::string>(), StartsWith("pipeline 'ops' is already running (pid "));
}

TEST_F(NotifyTest, ManifestFailure) {
    auto file = pipeline(
        cat_source(), gzip,
        "plugin = \"sink-faulty\"\nfail_at = \"manifest\"\npath = \"" + sink_dir().string() + "\"\nkey = \"k\"\n",
        webhook());
    EXPECT_EQ(backhaul({"run", file.string()}).exit_code, 1);
    nlohmann::json e = event();
    EXPECT_EQ(e["key"], "k");
    EXPECT_THAT(e["error"].get<std::string>(), HasSubstr("the backup is incomplete"));
    // Exactly what exists: the data, without its manifest.
    EXPECT_EQ(e["data_committed"], true);
    EXPECT_EQ(e["backup_complete"], false);
}

TEST_F(NotifyTest, AShrunkenBackupIsFlaggedInTheEvent) {
    auto file = pipeline(shell_source("echo tiny"), gzip, local_sink(), webhook("[\"success\"]"));
    plant("ops/20200101-030000.gz", true, std::string(10000, 'x'));
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    nlohmann::json e = event();
    EXPECT_EQ(e["shrunken"], true);
    EXPECT_EQ(e["shrink_baseline_raw_bytes"], 10000);
    EXPECT_EQ(e["stored_bytes"].get<int64_t>() > 0, true);
}

TEST_F(NotifyTest, AFailedRunReportsNothingStored) {
    auto file = pipeline(shell_source("head -c 5000 /dev/zero; exit 1"), gzip, local_sink(), webhook());
    EXPECT_EQ(backhaul({"run", file.string()}).exit_code, 1);
    nlohmann::json e = event();
    EXPECT_EQ(e["stored_bytes"], 0);
    EXPECT_EQ(e["data_committed"], false);
    EXPECT_EQ(e["backup_complete"], false);
}

TEST_F(NotifyTest, RetentionError) {
    auto file =
        pipeline(cat_source(), gzip,
                 "plugin = \"sink-faulty\"\nfail_at = \"list\"\npath = \"" + sink_dir().string() + "\"\nkey = \"k\"\n",
                 "[retention]\nkeep_last = 3\n" + webhook());
    EXPECT_EQ(backhaul({"run", file.string()}).exit_code, 1);
    EXPECT_EQ(event()["error"],
              "backup 'k' is complete, but retention failed: sink (sink-faulty): injected list failure");
}

TEST_F(NotifyTest, ADeadReceiverDoesNotChangeTheExitCode) {
    std::string dead =
        "[[notify]]\nplugin = \"notify-webhook\"\non = [\"success\", \"failure\"]\nretries = 0\nurl = \"" + dead_url() +
        "\"\n";
    auto good = pipeline(cat_source(), gzip, local_sink(), dead);
    CommandResult ok = backhaul({"run", good.string()});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_THAT(ok.err, HasSubstr("warn notification failed (the run's outcome is unchanged): notify[0] "
                                  "(notify-webhook): webhook http://127.0.0.1:9/hook failed: "));
    auto bad = pipeline(shell_source("exit 1"), gzip, local_sink(), dead);
    EXPECT_EQ(backhaul({"run", bad.string()}).exit_code, 1);
}

TEST_F(NotifyTest, SlackGetsTheErrorLine) {
    auto file =
        pipeline(shell_source("exit 3"), gzip, local_sink(),
                 "[[notify]]\nplugin = \"notify-slack\"\nwebhook_url = \"" + receiver_.url("/services/T/B/x") + "\"\n");
    EXPECT_EQ(backhaul({"run", file.string()}).exit_code, 1);
    EXPECT_THAT(event()["text"].get<std::string>(),
                ::testing::MatchesRegex(":x: backup \\*ops\\* FAILED in [0-9.]+s, 0 B stored, key `ops/[0-9-]+\\.gz`\n"
                                        ">source \\(source-command\\): command 'sh' exited with status 3"));
}

}  // namespace
}  // namespace backhaul::testing
