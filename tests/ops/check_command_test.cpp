// `backhaul check` through the real binary against sink-local, real transforms and a local HTTP receiver: every check
// passes on a good pipeline and leaves nothing behind; a read-only or missing directory, a secret that cannot be
// fetched, an identity that does not match and a dead notifier each fail with their reason and fix, exit 1.
#include <sys/stat.h>
#include <unistd.h>

#include "http_receiver.hpp"
#include "ops_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CheckCommand : public OpsTest {
  protected:
    // In a UTF-8 locale the marks are ✓ and ✗; in "C", plain ASCII.
    CommandResult check(const std::filesystem::path& file, std::vector<std::string> extra = {},
                        const std::string& locale = "C.UTF-8", bool without_capabilities = false) {
        std::vector<std::string> args = {BACKHAUL_BINARY, "check", file.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        // Root ignores file modes; without its capabilities the directory's mode applies to it too.
        if (without_capabilities && ::geteuid() == 0)
            args.insert(args.begin(), {"setpriv", "--bounding-set=-all", "--inh-caps=-all"});
        CommandOptions options;
        options.env = {{"LC_ALL", locale}};
        return run_command(args, options);
    }
    static bool empty_directory(const std::filesystem::path& dir) {
        return std::filesystem::directory_iterator(dir) == std::filesystem::directory_iterator();
    }
    std::string new_age_identity(const std::string& name) {
        const std::filesystem::path file = tmp_ / name;
        CommandResult made = backhaul({"keygen", "age", "--output", file.string()});
        if (made.exit_code != 0) throw std::runtime_error("keygen failed: " + made.err);
        const std::string said = made.out + made.err;
        if (said.find("age1") == std::string::npos) throw std::runtime_error("keygen printed no recipient: " + said);
        std::string recipient = said.substr(said.find("age1"));
        return recipient.substr(0, recipient.find_first_of(" \n"));
    }
};

TEST_F(CheckCommand, GoodLocalPipelinePassesAndLeavesNothingBehind) {
    auto file = pipeline(cat_source(), gzip, local_sink());
    CommandResult run = check(file);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_THAT(run.out, HasSubstr("- source (source-command): live check: not checked: source-command has no live "
                                   "check of its own"));
    EXPECT_THAT(run.out, HasSubstr("✓ transform[0] (compress-gzip): encode and decode 16.0 KiB: encoded to "));
    EXPECT_THAT(run.out, HasSubstr("decoded back identically"));
    EXPECT_THAT(run.out, HasSubstr("✓ sink (sink-local): directory '" + sink_dir().string() + "': exists"));
    EXPECT_THAT(run.out, HasSubstr("✓ sink (sink-local): create a file in directory"));
    EXPECT_THAT(run.out, HasSubstr("✓ sink (sink-local): commit without replacing"));
    // The probe goes under the key template's fixed prefix ("ops/"), through every call a backup and prune make.
    EXPECT_THAT(run.out, ::testing::ContainsRegex("✓ sink \\(sink-local\\): write probe object "
                                                  "'ops/\\.backhaul-check-[0-9a-f]{16}': [0-9]+ B committed"));
    for (const char* step :
         {"read it back: identical", "stat it: ", "list finds it", "remove it: gone from the listing"})
        EXPECT_THAT(run.out, HasSubstr(std::string("✓ sink (sink-local): ") + step));
    EXPECT_THAT(run.out, HasSubstr("pipeline 'ops': every check passed ("));
    EXPECT_THAT(run.out, Not(HasSubstr("✗")));
    // Nothing left: not the probe, not the directory the probe's key needed, not a temp file.
    EXPECT_TRUE(empty_directory(sink_dir())) << files_below(sink_dir()).size() << " file(s) left";
}

TEST_F(CheckCommand, ProbeNeverTakesANameTheKeyTemplateCouldProduce) {
    // {ext} matches any name without '/': ".backhaul-check-…" after the pipeline's name could be a backup's key.
    auto file = pipeline(cat_source(), "", local_sink("{pipeline}{ext}"));
    CommandResult run = check(file);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_THAT(run.out, ::testing::ContainsRegex("write probe object 'ops\\.backhaul-check-[0-9a-f]{16}/probe'"));
    EXPECT_TRUE(empty_directory(sink_dir()));
}

TEST_F(CheckCommand, ExistingBackupsAreUntouched) {
    auto file = pipeline(cat_source(), gzip, local_sink());
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    const std::vector<std::string> before = files_below(sink_dir());
    ASSERT_EQ(check(file).exit_code, 0);
    EXPECT_EQ(files_below(sink_dir()), before);
}

TEST_F(CheckCommand, ReadOnlyDirectoryFailsWithTheReasonAndTheFix) {
    auto file = pipeline(cat_source(), "", local_sink());
    ASSERT_EQ(::chmod(sink_dir().c_str(), 0555), 0);
    CommandResult run = check(file, {}, "C", true);
    ::chmod(sink_dir().c_str(), 0755);
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    // ASCII marks outside a UTF-8 locale.
    EXPECT_THAT(run.out, HasSubstr("ok sink (sink-local): directory '" + sink_dir().string() + "': exists"));
    EXPECT_THAT(run.out, HasSubstr("FAIL sink (sink-local): create a file in directory '" + sink_dir().string() +
                                   "': Permission denied -- fix: let the user running backhaul (uid "));
    // One cause, one failure: the probe would fail again for it, so it is not written (and nothing is deleted).
    EXPECT_THAT(run.out, HasSubstr("-- sink (sink-local): probe object: not checked: the sink's own checks failed "
                                   "above; fix those first"));
    EXPECT_THAT(run.out, Not(HasSubstr("write probe object")));
    EXPECT_THAT(run.out, Not(HasSubstr("remove it")));
    EXPECT_THAT(run.out, HasSubstr("pipeline 'ops': 1 check(s) FAILED ("));
    EXPECT_THAT(run.out, Not(HasSubstr("✓")));
    EXPECT_TRUE(empty_directory(sink_dir()));
}

TEST_F(CheckCommand, MissingDirectorySaysHowToCreateIt) {
    const std::string missing = (tmp_ / "not-mounted").string();
    auto file =
        pipeline(cat_source(), "", "plugin = \"sink-local\"\npath = \"" + missing + "\"\nkey = \"{pipeline}\"\n");
    CommandResult run = check(file);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.out, HasSubstr("✗ sink (sink-local): directory '" + missing + "': directory '" + missing +
                                   "' does not exist — fix: create it (mkdir -p '" + missing +
                                   "') or mount the backup disk; Backhaul never creates it"));
    EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(CheckCommand, JsonHasEveryCheck) {
    HttpReceiver receiver;
    auto file = pipeline(cat_source(), gzip, local_sink(),
                         "[[notify]]\nplugin = \"notify-webhook\"\nurl = \"" + receiver.url() + "\"\n");
    CommandResult run = check(file, {"--json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    nlohmann::json report = nlohmann::json::parse(run.out);
    EXPECT_EQ(report["pipeline"], "ops");
    EXPECT_EQ(report["ok"], true);
    EXPECT_EQ(report["failed"], 0);
    EXPECT_EQ(report["not_checked"], 2);  // the source, and the notifier without --notify
    ASSERT_TRUE(report["checks"].is_array());
    EXPECT_EQ(report["checks"].size(),
              report["passed"].get<size_t>() + report["failed"].get<size_t>() + report["not_checked"].get<size_t>());
    const nlohmann::json& last = report["checks"].back();
    EXPECT_EQ(last["stage"], "notify[0] (notify-webhook)");
    EXPECT_EQ(last["status"], "not checked");
    EXPECT_EQ(last["detail"], "add --notify to send one");
    for (const nlohmann::json& c : report["checks"]) {
        if (c["stage"] == "sink (sink-local)") {
            EXPECT_EQ(c["status"], "passed") << c.dump();
        }
    }
    EXPECT_TRUE(receiver.requests().empty());
}

TEST_F(CheckCommand, NotifySendsATestEventToEveryNotifier) {
    HttpReceiver receiver;
    auto file = pipeline(cat_source(), "", local_sink(),
                         "[[notify]]\nplugin = \"notify-webhook\"\non = [\"failure\"]\nurl = \"" + receiver.url() +
                             "\"\n[[notify]]\nplugin = \"notify-webhook\"\nurl = \"http://127.0.0.1:1/dead\"\n"
                             "retries = 0\n");
    CommandResult run = check(file, {"--notify"});
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    EXPECT_THAT(run.out, HasSubstr("✓ notify[0] (notify-webhook): send a test event: delivered (outcome \"check\")"));
    EXPECT_THAT(run.out, HasSubstr("✗ notify[1] (notify-webhook): send a test event: webhook http://127.0.0.1:1/dead "
                                   "failed: "));
    EXPECT_THAT(run.out, HasSubstr("— fix: check the notifier's options and that this host can reach it"));
    auto requests = receiver.wait_for(1);
    ASSERT_EQ(requests.size(), 1u);
    nlohmann::json event = nlohmann::json::parse(requests[0]["body"].get<std::string>());
    EXPECT_EQ(event["outcome"], "check");
    EXPECT_EQ(event["pipeline"], "ops");
    EXPECT_EQ(event["key"], "");
    EXPECT_EQ(event["stored_bytes"], 0);
}

TEST_F(CheckCommand, SecretThatCannotBeFetchedIsNamedOnceAndItsStagesAreNotChecked) {
    auto file =
        pipeline(cat_source(), "", "plugin = \"sink-local\"\npath = \"${secret:dest.path}\"\nkey = \"{pipeline}\"\n",
                 "", "[secrets.dest]\nplugin = \"secret-env\"\nfields = { path = \"BACKHAUL_CHECK_UNSET_VAR\" }\n");
    CommandResult run = check(file);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.out, HasSubstr("✗ secrets.dest (secret-env): fetch secret 'dest': environment variable "
                                   "BACKHAUL_CHECK_UNSET_VAR (field 'path') is not set — fix: check [secrets.dest]'s "
                                   "options"));
    EXPECT_THAT(run.out, HasSubstr("- sink (sink-local): set up: not checked: needs secret 'dest', which could not be "
                                   "fetched"));
    EXPECT_THAT(run.out, HasSubstr("1 check(s) FAILED"));

    CommandOptions with_secret;
    with_secret.env = {{"LC_ALL", "C.UTF-8"}, {"BACKHAUL_CHECK_UNSET_VAR", sink_dir().string()}};
    run = run_command({BACKHAUL_BINARY, "check", file.string()}, with_secret);
    EXPECT_EQ(run.exit_code, 0) << run.out;
    EXPECT_THAT(run.out, HasSubstr("✓ secrets.dest (secret-env): fetch secret 'dest': 1 field(s): path"));
    // The value is a secret: never printed, even though it is only a path here.
    EXPECT_THAT(run.out, Not(HasSubstr("directory '" + sink_dir().string())));
}

TEST_F(CheckCommand, AgeRoundTripNeedsAMatchingIdentity) {
    const std::string recipient = new_age_identity("key.txt");
    new_age_identity("other.txt");
    auto age = [&](const std::string& identity) {
        return "[[transform]]\nplugin = \"encrypt-age\"\nrecipients = [\"" + recipient + "\"]\n" +
               (identity.empty() ? "" : "identity_file = \"" + (tmp_ / identity).string() + "\"\n");
    };
    // A backup host holds only the recipient: decoding is not its business, and not a failure.
    CommandResult run = check(pipeline(cat_source(), gzip + age(""), local_sink()));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_THAT(run.out, HasSubstr("✓ transform[1] (encrypt-age): encode and decode 16.0 KiB: encoded to "));
    EXPECT_THAT(run.out, HasSubstr("decode not checked: encrypt-age needs 'identity_file' or 'passphrase' to decrypt "
                                   "(needed only for restore and verify)"));

    run = check(pipeline(cat_source(), gzip + age("key.txt"), local_sink()));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_THAT(run.out, HasSubstr("✓ transform[1] (encrypt-age): encode and decode 16.0 KiB: encoded to "));
    EXPECT_THAT(run.out, HasSubstr("decoded back identically"));

    // The identity of another key pair: every restore would fail, and check says so now.
    run = check(pipeline(cat_source(), age("other.txt"), local_sink()));
    EXPECT_EQ(run.exit_code, 1) << run.out;
    EXPECT_THAT(run.out, HasSubstr("✗ transform[0] (encrypt-age): encode and decode 16.0 KiB: decoding failed: "));
    EXPECT_THAT(run.out, HasSubstr("no identity matched any of the recipients"));
    EXPECT_THAT(run.out, HasSubstr("— fix: restores and verify of this pipeline's backups would fail the same way"));
}

TEST_F(CheckCommand, InvalidPipelineAndUnknownFlagsAreUsageErrors) {
    auto file = pipeline(cat_source(), "[[transform]]\nplugin = \"compress-gzip\"\nlevle = 6\n", local_sink());
    CommandResult run = check(file);
    EXPECT_EQ(run.exit_code, 2) << run.out;
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(check(pipeline(cat_source(), "", local_sink()), {"--dry-run"}).exit_code, 2);
}

}  // namespace
}  // namespace backhaul::testing
