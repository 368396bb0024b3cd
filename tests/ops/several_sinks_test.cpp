// Several sinks (`[[sink]]`, docs/sets.md "Several sinks") through the real binary: every stream teed to each sink,
// each copy committed on its own; a failing sink abandons only its copy (nothing of it left, exit 1 unless it is not
// required) while the other copy is complete; notifications and metrics name the copies; retention runs on each
// sink's own listing; list, verify and restore read the copy asked for, or the first that has the backup.
#include "http_receiver.hpp"
#include "ops_fixture.hpp"

namespace backhaul::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kKey = "{pipeline}/%Y%m%d-%H%M%S{ext}";

class SeveralSinksTest : public OpsTest {
  protected:
    std::filesystem::path dir(const std::string& name) const { return tmp_ / ("sink-" + name); }

    std::string local(const std::string& name, const std::string& extra = "") const {
        return "[[sink]]\nname = \"" + name + "\"\nplugin = \"sink-local\"\npath = \"" + dir(name).string() +
               "\"\nfsync = false\nkey = \"" + kKey + "\"\n" + extra + "\n";
    }
    // sink-faulty fails where it is told to; it cannot read objects back, so it never serves a restore.
    std::string faulty(const std::string& name, const std::string& fail_at, const std::string& extra = "") const {
        return "[[sink]]\nname = \"" + name + "\"\nplugin = \"sink-faulty\"\npath = \"" + dir(name).string() +
               "\"\nfail_at = \"" + fail_at + "\"\nafter = 1000\nkey = \"" + kKey + "\"\n" + extra + "\n";
    }
    std::filesystem::path pipeline_with(const std::string& source, const std::string& sinks,
                                        const std::string& tables = "", const std::string& top = "") {
        for (const char* name : {"a", "b", "bad"}) std::filesystem::create_directories(dir(name));
        std::string text = "name = \"ops\"\nplugin_path = [\"" ENGINE_FIXTURE_DIR "\"]\nlock_dir = \"" +
                           lock_dir().string() + "\"\n" + top + "\n[source]\n" + source + "\n" + gzip + "\n" + sinks +
                           tables;
        std::filesystem::path file = tmp_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }
    std::string webhook() const {
        return "[[notify]]\nplugin = \"notify-webhook\"\non = [\"success\", \"failure\"]\nurl = \"" + receiver_.url() +
               "\"\n";
    }
    nlohmann::json event() {
        auto requests = receiver_.wait_for(1);
        if (requests.size() != 1) return {{"requests", requests.size()}};
        return nlohmann::json::parse(requests[0]["body"].get<std::string>());
    }
    // What a sink directory holds besides sink-faulty's ABORTED record.
    std::vector<std::string> objects_in(const std::string& name) const {
        std::vector<std::string> found;
        for (const std::string& f : files_below(dir(name)))
            if (f != "ABORTED") found.push_back(f);
        return found;
    }
    std::string gunzip(const std::filesystem::path& file) {
        CommandResult r = run_command({"gunzip", "-c", file.string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    }

    HttpReceiver receiver_;
};

TEST_F(SeveralSinksTest, EverySinkHoldsTheSameCompleteCopy) {
    auto file = pipeline_with(cat_source(), local("a") + local("b"), webhook());
    CommandResult validate = backhaul({"validate", file.string()});
    ASSERT_EQ(validate.exit_code, 0) << validate.err;
    EXPECT_THAT(validate.out, HasSubstr("sinks a (sink-local), b (sink-local)"));

    CommandResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("complete_sinks=a,b failed_sinks=-"));
    const std::vector<std::string> a = objects_in("a");
    ASSERT_EQ(a.size(), 2u);  // the object and its manifest; no pending marker
    EXPECT_EQ(objects_in("b"), a);
    const std::string key = a[0].ends_with(".manifest.json") ? a[1] : a[0];
    EXPECT_EQ(gunzip(dir("a") / key), input_);
    EXPECT_EQ(sha256_of(dir("a") / key), sha256_of(dir("b") / key));
    nlohmann::json manifest_b = nlohmann::json::parse(read_file(dir("b") / (key + ".manifest.json")));
    EXPECT_EQ(manifest_b["sha256"], sha256_of(dir("b") / key));

    nlohmann::json e = event();
    EXPECT_EQ(e["outcome"], "success");
    EXPECT_EQ(e["complete_sinks"], nlohmann::json::array({"a", "b"}));
    EXPECT_EQ(e["failed_sinks"], nlohmann::json::array());

    // list: every sink in turn; --json names each entry's sink.
    CommandResult list = backhaul({"list", file.string()});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_THAT(list.out, HasSubstr("sink 'a' (sink-local):\n"));
    EXPECT_THAT(list.out, HasSubstr("\nsink 'b' (sink-local):\n"));
    CommandResult json = backhaul({"list", file.string(), "--json", "--sink", "b"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    nlohmann::json listed = nlohmann::json::parse(json.out);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0]["sink"], "b");
    EXPECT_EQ(listed[0]["status"], "complete");

    // verify and restore the copy on b, with a's gone entirely.
    std::filesystem::remove_all(dir("a"));
    std::filesystem::create_directories(dir("a"));
    CommandResult verify = backhaul({"verify", file.string(), "--sink", "b"});
    ASSERT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_THAT(verify.out, HasSubstr("verified '" + key + "'"));
    CommandResult restore =
        backhaul({"restore", file.string(), "--key", key, "--sink", "b", "-o", (tmp_ / "restored.txt").string()});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_EQ(read_file(tmp_ / "restored.txt"), input_);

    CommandResult unknown = backhaul({"list", file.string(), "--sink", "c"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_THAT(unknown.err, HasSubstr("pipeline 'ops' has no sink 'c' (its sinks: 'a', 'b')"));
}

TEST_F(SeveralSinksTest, OneFailingSinkLeavesTheOtherCopyCompleteAndFailsTheRun) {
    auto file = pipeline_with(cat_source(), local("a") + faulty("bad", "write"), webhook());
    CommandResult run = backhaul({"run", file.string(), "--metrics-file", (tmp_ / "metrics.prom").string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("sink 'bad' failed: sink.bad (sink-faulty)"));
    EXPECT_THAT(run.err, HasSubstr("injected write failure"));
    EXPECT_THAT(run.err, HasSubstr("complete_sinks=a failed_sinks=bad"));

    // The good copy is complete and decodes; of the failed one nothing is left, and its upload was aborted.
    const std::vector<std::string> a = objects_in("a");
    ASSERT_EQ(a.size(), 2u) << run.err;
    const std::string key = a[0].ends_with(".manifest.json") ? a[1] : a[0];
    EXPECT_EQ(gunzip(dir("a") / key), input_);
    EXPECT_THAT(objects_in("bad"), IsEmpty());
    EXPECT_TRUE(std::filesystem::exists(dir("bad") / "ABORTED"));

    nlohmann::json e = event();
    EXPECT_EQ(e["outcome"], "failure");
    EXPECT_EQ(e["backup_complete"], true);
    EXPECT_EQ(e["complete_sinks"], nlohmann::json::array({"a"}));
    EXPECT_EQ(e["failed_sinks"], nlohmann::json::array({"bad"}));
    EXPECT_THAT(e["error"].get<std::string>(), HasSubstr("sink 'bad' failed"));

    const std::string metrics = read_file(tmp_ / "metrics.prom");
    EXPECT_THAT(metrics, HasSubstr("backhaul_last_run_sink_complete{pipeline=\"ops\",sink=\"a\"} 1\n"));
    EXPECT_THAT(metrics, HasSubstr("backhaul_last_run_sink_complete{pipeline=\"ops\",sink=\"bad\"} 0\n"));
    EXPECT_THAT(metrics, HasSubstr("backhaul_last_run_success{pipeline=\"ops\"} 0\n"));
}

TEST_F(SeveralSinksTest, ASinkThatIsNotRequiredMayFailWithAWarning) {
    auto file = pipeline_with(cat_source(), local("a") + faulty("bad", "begin", "required = false"), webhook());
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("sink 'bad' failed (required = false); its copy is abandoned"));
    EXPECT_EQ(objects_in("a").size(), 2u);
    EXPECT_THAT(objects_in("bad"), IsEmpty());
    nlohmann::json e = event();
    EXPECT_EQ(e["outcome"], "success");
    EXPECT_EQ(e["failed_sinks"], nlohmann::json::array({"bad"}));
}

TEST_F(SeveralSinksTest, WhenEverySinkFailsNothingIsCommittedAnywhere) {
    auto file = pipeline_with(cat_source(), faulty("bad", "commit") + faulty("b", "write"));
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("run failed, nothing committed"));
    EXPECT_THAT(objects_in("bad"), IsEmpty());
    EXPECT_THAT(objects_in("b"), IsEmpty());
}

TEST_F(SeveralSinksTest, AFailingSourceLeavesNothingOnAnySink) {
    auto file = pipeline_with(shell_source("echo partial; exit 3"), local("a") + local("b"));
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("command 'sh' exited with status 3"));
    EXPECT_THAT(objects_in("a"), IsEmpty());
    EXPECT_THAT(objects_in("b"), IsEmpty());
}

TEST_F(SeveralSinksTest, ASetCopyThatFailsHasItsObjectsRemovedWhileTheOtherCommits) {
    const std::string source =
        "plugin = \"source-set\"\nstreams = [\"globals\", \"databases/one\", "
        "\"databases/two\"]\n";
    const std::string set_key = "{pipeline}/set-%Y%m%dT%H%M%S";
    auto set_sink = [&](const std::string& name, const std::string& plugin, const std::string& extra) {
        return "[[sink]]\nname = \"" + name + "\"\nplugin = \"" + plugin + "\"\npath = \"" + dir(name).string() +
               "\"\nkey = \"" + set_key + "\"\n" + extra + "\n";
    };
    // "manifest": every object of bad's copy is committed, then its manifest fails.
    auto file = pipeline_with(
        source, set_sink("a", "sink-local", "fsync = false") + set_sink("bad", "sink-faulty", "fail_at = \"manifest\""),
        "", "jobs = 2\n");
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("sink 'bad' failed"));
    EXPECT_THAT(run.err, HasSubstr("injected manifest failure"));
    EXPECT_THAT(run.err, HasSubstr("removed the 3 object(s) this run had committed"));
    EXPECT_THAT(objects_in("bad"), IsEmpty());
    const std::vector<std::string> a = objects_in("a");
    ASSERT_EQ(a.size(), 4u) << run.err;  // three objects and the manifest
    CommandResult verify = backhaul({"verify", file.string(), "--sink", "a"});
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_THAT(verify.out, HasSubstr("3 streams"));
}

TEST_F(SeveralSinksTest, RetentionRunsOnEachSinksOwnListing) {
    // An old complete backup on each sink; tonight b fails, so b keeps its old one while a keeps only tonight's.
    for (const char* name : {"a", "bad"}) {
        std::filesystem::create_directories(dir(name) / "ops");
        write_file(dir(name) / "ops/20200101-000000.gz", "data");
        write_file(dir(name) / "ops/20200101-000000.gz.manifest.json",
                   manifest_text("ops", "ops/20200101-000000.gz", 4));
    }
    auto file = pipeline_with(cat_source(), local("a") + faulty("bad", "write"), "[retention]\nkeep_last = 1\n");
    CommandResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("retention on sink 'a': deleted 'ops/20200101-000000.gz'"));
    EXPECT_FALSE(std::filesystem::exists(dir("a") / "ops/20200101-000000.gz"));
    EXPECT_EQ(objects_in("a").size(), 2u);
    EXPECT_THAT(objects_in("bad"), ElementsAre("ops/20200101-000000.gz", "ops/20200101-000000.gz.manifest.json"));
}

TEST_F(SeveralSinksTest, PruneWorksOnEachSinkAndASinkThatFailsDoesNotStopTheOthers) {
    for (const char* name : {"a", "b"}) {
        std::filesystem::create_directories(dir(name) / "ops");
        for (const char* key : {"ops/20200101-000000.gz", "ops/20200102-000000.gz"}) {
            write_file(dir(name) / key, "data");
            write_file(dir(name) / (std::string(key) + ".manifest.json"), manifest_text("ops", key, 4));
        }
    }
    auto file =
        pipeline_with(cat_source(), faulty("bad", "list") + local("a") + local("b"), "[retention]\nkeep_last = 1\n");
    CommandResult dry = backhaul({"prune", file.string(), "--dry-run", "--sink", "b"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_THAT(dry.out, HasSubstr("would delete ops/20200101-000000.gz"));
    EXPECT_THAT(dry.out, Not(HasSubstr("sink 'a'")));
    EXPECT_TRUE(std::filesystem::exists(dir("b") / "ops/20200101-000000.gz"));

    // list shows the sinks it can list, and says which it could not.
    CommandResult list = backhaul({"list", file.string()});
    EXPECT_EQ(list.exit_code, 1);
    EXPECT_THAT(list.err, HasSubstr("list failed: sink 'bad': sink.bad (sink-faulty): injected list failure"));
    EXPECT_THAT(list.out, HasSubstr("sink 'b' (sink-local):\nKEY"));

    CommandResult prune = backhaul({"prune", file.string()});
    EXPECT_EQ(prune.exit_code, 1);
    EXPECT_THAT(prune.err, HasSubstr("sink 'bad': sink.bad (sink-faulty): injected list failure"));
    for (const char* name : {"a", "b"}) {
        EXPECT_THAT(prune.out, HasSubstr("sink '" + std::string(name) + "':\n"));
        EXPECT_THAT(objects_in(name), ElementsAre("ops/20200102-000000.gz", "ops/20200102-000000.gz.manifest.json"))
            << name;
    }
}

TEST_F(SeveralSinksTest, RestoreAndVerifyTakeTheNewestCompleteCopy) {
    auto file = pipeline_with(cat_source(), local("a") + local("b"));
    ASSERT_EQ(backhaul({"run", file.string()}).exit_code, 0);
    // a's copy loses its manifest: incomplete there, so --latest reads b's.
    std::string key;
    for (const std::string& f : objects_in("a"))
        if (f.ends_with(".manifest.json")) key = f.substr(0, f.size() - 14);
    std::filesystem::remove(dir("a") / (key + ".manifest.json"));
    CommandResult restore = backhaul({"restore", file.string(), "--latest", "-o", (tmp_ / "out.txt").string()});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_THAT(restore.err, HasSubstr("restoring from sink 'b'"));
    EXPECT_EQ(read_file(tmp_ / "out.txt"), input_);
    CommandResult verify = backhaul({"verify", file.string(), "--key", key});
    ASSERT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_THAT(verify.err, HasSubstr("verifying the copy on sink 'b'"));
}

TEST_F(SeveralSinksTest, ValidateReportsEverySinkProblemWithItsPosition) {
    auto file = pipeline_with(cat_source(), local("a") + local("a") +
                                                "[[sink]]\nplugin = \"sink-local\"\npath = \"/x\"\nrequired = "
                                                "\"yes\"\n\n[[sink]]\nname = \"9x\"\nplugin = \"sink-local\"\n"
                                                "path = \"/x\"\nkey = \"{nothing}\"\n");
    CommandResult validate = backhaul({"validate", file.string()});
    EXPECT_EQ(validate.exit_code, 2);
    const std::string f = file.string();
    EXPECT_THAT(validate.err, HasSubstr(f + ":20:8: sink 'a' is defined twice (first at line 13)"));
    EXPECT_THAT(validate.err, HasSubstr(f + ":26:1: sink[2]: missing required option 'key'"));
    EXPECT_THAT(validate.err, HasSubstr(f + ":29:12: sink[2]: 'required' must be true or false, got string"));
    EXPECT_THAT(validate.err, HasSubstr(f + ":32:8: sink[3]: invalid sink name '9x'"));
    // A key's variables are checked per sink (with its name in the label once it has a valid one).
    auto one_bad_key = pipeline_with(cat_source(), local("a") +
                                                       "[[sink]]\nname = \"b\"\nplugin = \"sink-local\"\npath = "
                                                       "\"/x\"\nkey = \"{nothing}\"\n");
    CommandResult bad_key = backhaul({"validate", one_bad_key.string()});
    EXPECT_EQ(bad_key.exit_code, 2);
    EXPECT_THAT(bad_key.err, HasSubstr("sink.b: key uses {nothing}, which no stage publishes"));
    // Two sinks that would write the same objects are one copy, not two.
    auto same_place =
        pipeline_with(cat_source(), local("a") + "[[sink]]\nname = \"b\"\nplugin = \"sink-local\"\npath = \"" +
                                        dir("a").string() + "\"\nfsync = false\nkey = \"" + kKey + "\"\n");
    CommandResult same = backhaul({"validate", same_place.string()});
    EXPECT_EQ(same.exit_code, 2);
    EXPECT_THAT(same.err,
                HasSubstr(same_place.string() + ":20:8: sink 'b' has the plugin, options and key of sink 'a'"));
}

}  // namespace
}  // namespace backhaul::testing
