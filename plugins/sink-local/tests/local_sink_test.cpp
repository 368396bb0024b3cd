#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "command_runner.hpp"
#include "plugin_harness.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;
using harness::Instance;
using harness::ObjectInfo;
using harness::Plugin;
using harness::StreamResult;
using harness::Upload;
using testing::read_file;

const Plugin& sink_plugin() {
    static const Plugin plugin("sink-local");
    return plugin;
}

// Every path below `root`, relative, sorted: what a user would see with `find`.
std::vector<std::string> tree(const fs::path& root) {
    std::vector<std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(root))
        out.push_back(entry.path().lexically_relative(root));
    std::sort(out.begin(), out.end());
    return out;
}

class SinkLocal : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "backhaul-sink-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        base_ = pattern;
        root_ = base_ / "store";
        fs::create_directory(root_);
        sink_ = std::make_unique<Instance>(sink_plugin(), harness::OptionList{{"path", root_.string()}});
        ASSERT_EQ(sink_->create_status(), BH_OK) << sink_->last_error();
    }
    void TearDown() override {
        sink_.reset();
        fs::remove_all(base_);
    }

    fs::path base_;
    fs::path root_;
    std::unique_ptr<Instance> sink_;
};

TEST_F(SinkLocal, DescriptorDeclaresPathAndFsync) {
    const bh_plugin_descriptor& d = sink_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_SINK);
    EXPECT_STREQ(d.name, "sink-local");
    ASSERT_EQ(d.option_count, 2u);
    EXPECT_STREQ(d.options[0].name, "path");
    EXPECT_EQ(d.options[0].flags & BH_OPT_REQUIRED, uint32_t{BH_OPT_REQUIRED});
    EXPECT_STREQ(d.options[1].name, "fsync");
    EXPECT_STREQ(d.options[1].default_value, "true");
}

TEST_F(SinkLocal, CommitMakesTheFileVisibleWithModeSixHundred) {
    StreamResult stored = sink_->store("2024/05/01/db_202405010300.sql.gz", "backup bytes");
    ASSERT_EQ(stored.status, BH_OK) << stored.error;
    fs::path file = root_ / "2024/05/01/db_202405010300.sql.gz";
    EXPECT_EQ(read_file(file), "backup bytes");
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(tree(root_),
              (std::vector<std::string>{"2024", "2024/05", "2024/05/01", "2024/05/01/db_202405010300.sql.gz"}));
}

TEST_F(SinkLocal, NothingIsVisibleUnderTheKeyBeforeCommit) {
    Upload upload(*sink_, "a/b.gz");
    ASSERT_EQ(upload.begin_status(), BH_OK) << sink_->last_error();
    ASSERT_EQ(upload.write("partial"), BH_OK);
    EXPECT_FALSE(fs::exists(root_ / "a/b.gz"));
    std::vector<std::string> entries = tree(root_);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0], "a");
    EXPECT_TRUE(entries[1].starts_with("a/.b.gz.backhaul-tmp-")) << entries[1];
    EXPECT_EQ(read_file(root_ / entries[1]), "partial");
    std::vector<ObjectInfo> listed;
    ASSERT_EQ(sink_->list("", listed), BH_OK);
    EXPECT_TRUE(listed.empty());
    ASSERT_EQ(upload.commit(), BH_OK) << sink_->last_error();
    EXPECT_EQ(tree(root_), (std::vector<std::string>{"a", "a/b.gz"}));
}

TEST_F(SinkLocal, AbortKeepsDirectoriesThatExistedBefore) {
    fs::create_directories(root_ / "2024");
    {
        Upload upload(*sink_, "2024/05/x.gz");
        ASSERT_EQ(upload.begin_status(), BH_OK);
        upload.abort();
    }
    EXPECT_EQ(tree(root_), std::vector<std::string>{"2024"});
}

TEST_F(SinkLocal, UploadDestroyedWithoutCommitIsAborted) {
    {
        Upload upload(*sink_, "x.gz");
        ASSERT_EQ(upload.begin_status(), BH_OK);
        ASSERT_EQ(upload.write("data"), BH_OK);
    }  // harness::Upload's destructor calls the ABI's abort
    EXPECT_TRUE(tree(root_).empty());
}

TEST_F(SinkLocal, RejectsKeysThatEscapeTheDirectory) {
    for (std::string key : {"../x", "a/../../x", "/etc/passwd", "a/./b", "./a", "a//b", "a/", "", "..", "a/.."}) {
        Upload upload(*sink_, key);
        EXPECT_EQ(upload.begin_status(), BH_FATAL) << key;
        EXPECT_EQ(sink_->last_error(), "key '" + key + "' escapes the sink directory");
    }
    EXPECT_TRUE(tree(base_) == std::vector<std::string>{"store"});
}

TEST_F(SinkLocal, AllowsDotsAndBackslashesInsideSegments) {
    for (std::string key : {"a..b", "...", ".hidden", "x\\y", "a/b..c/.d"}) {
        StreamResult stored = sink_->store(key, key);
        EXPECT_EQ(stored.status, BH_OK) << key << ": " << stored.error;
        EXPECT_EQ(read_file(root_ / key), key);
    }
}

TEST_F(SinkLocal, RejectsKeysNamingTempFiles) {
    Upload upload(*sink_, "a/.x.gz.backhaul-tmp-0123456789abcdef");
    EXPECT_EQ(upload.begin_status(), BH_FATAL);
    EXPECT_EQ(sink_->last_error(),
              "key 'a/.x.gz.backhaul-tmp-0123456789abcdef' is reserved for temporary upload files");
}

TEST_F(SinkLocal, SymlinkedDirectoryCannotLeadOutside) {
    fs::create_directory(base_ / "outside");
    fs::create_directory_symlink(base_ / "outside", root_ / "link");
    Upload upload(*sink_, "link/x.gz");
    EXPECT_EQ(upload.begin_status(), BH_FATAL);
    EXPECT_EQ(sink_->last_error(), "key 'link/x.gz' escapes the sink directory");
    EXPECT_TRUE(fs::is_empty(base_ / "outside"));
    StreamResult read = sink_->read_object("link/x.gz");
    EXPECT_EQ(read.error, "key 'link/x.gz' escapes the sink directory");
}

// Another program's file stands for the other writer: nothing about it is the sink's.
TEST_F(SinkLocal, BeginOnAnExistingKeyFailsAndLeavesTheFileAlone) {
    fs::create_directories(root_ / "a");
    testing::write_file(root_ / "a/x.gz", "the only good backup");
    {
        Upload upload(*sink_, "a/x.gz");
        EXPECT_EQ(upload.begin_status(), BH_FATAL);
        EXPECT_EQ(sink_->last_error(), "object 'a/x.gz' already exists; not overwritten");
    }
    EXPECT_EQ(read_file(root_ / "a/x.gz"), "the only good backup");
    EXPECT_EQ(tree(root_), (std::vector<std::string>{"a", "a/x.gz"}));
}

TEST_F(SinkLocal, FileCreatedAfterBeginFailsTheCommitAndStaysIntact) {
    for (bool sync : {true, false}) {
        SCOPED_TRACE(sync ? "fsync" : "no fsync");
        fs::path root = base_ / (sync ? "synced" : "unsynced");
        fs::create_directory(root);
        Instance sink(sink_plugin(), {{"path", root.string()}, {"fsync", sync}});
        ASSERT_EQ(sink.create_status(), BH_OK) << sink.last_error();
        Upload upload(sink, "new/dir/x.gz");
        ASSERT_EQ(upload.begin_status(), BH_OK) << sink.last_error();
        ASSERT_EQ(upload.write(std::string(100000, 's')), BH_OK);
        testing::write_file(root / "new/dir/x.gz", "written by someone else");
        EXPECT_EQ(upload.commit(), BH_FATAL);
        EXPECT_EQ(sink.last_error(), "object 'new/dir/x.gz' already exists; not overwritten");
        EXPECT_EQ(read_file(root / "new/dir/x.gz"), "written by someone else");
        // The temp file is gone; the directories the upload made stay, since they hold the other file.
        EXPECT_EQ(tree(root), (std::vector<std::string>{"new", "new/dir", "new/dir/x.gz"}));
    }
}

TEST_F(SinkLocal, MissingDirectoryFailsBegin) {
    Instance sink(sink_plugin(), {{"path", (base_ / "missing").string()}});
    ASSERT_EQ(sink.create_status(), BH_OK);
    Upload upload(sink, "x.gz");
    EXPECT_EQ(upload.begin_status(), BH_FATAL);
    EXPECT_EQ(sink.last_error(), "directory '" + (base_ / "missing").string() + "' does not exist");
    EXPECT_FALSE(fs::exists(base_ / "missing"));
}

TEST_F(SinkLocal, ReadsAnObjectBack) {
    std::string data(300000, 'z');
    ASSERT_EQ(sink_->store("r/data.bin", data).status, BH_OK);
    StreamResult read = sink_->read_object("r/data.bin", 4096);
    EXPECT_EQ(read.status, BH_END_OF_STREAM) << read.error;
    EXPECT_TRUE(read.data == data);
}

TEST_F(SinkLocal, ReadingAMissingObjectFails) {
    StreamResult in_missing_dir = sink_->read_object("nope/x.gz");
    EXPECT_EQ(in_missing_dir.status, BH_FATAL);
    EXPECT_EQ(in_missing_dir.error, "object 'nope/x.gz' not found");
    StreamResult missing = sink_->read_object("x.gz");
    EXPECT_EQ(missing.error, "object 'x.gz' not found");
}

TEST_F(SinkLocal, ListsCommittedObjectsSortedWithSizes) {
    ASSERT_EQ(sink_->store("2024/05/02/b.gz", "bb").status, BH_OK);
    ASSERT_EQ(sink_->store("2024/05/01/a.gz", "a").status, BH_OK);
    ASSERT_EQ(sink_->store("2023/12/31/z.gz", "zzz").status, BH_OK);
    ASSERT_EQ(sink_->store("top.gz", "").status, BH_OK);
    Upload pending(*sink_, "2024/05/01/pending.gz");  // a temp file, not an object
    ASSERT_EQ(pending.begin_status(), BH_OK);

    std::vector<ObjectInfo> all;
    ASSERT_EQ(sink_->list("", all), BH_OK);
    std::vector<std::string> keys;
    for (const ObjectInfo& object : all) keys.push_back(object.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"2023/12/31/z.gz", "2024/05/01/a.gz", "2024/05/02/b.gz", "top.gz"}));
    EXPECT_EQ(all[0].size, 3);
    EXPECT_EQ(all[3].size, 0);
    struct stat st {};
    ASSERT_EQ(::stat((root_ / "2024/05/02/b.gz").c_str(), &st), 0);
    EXPECT_EQ(all[2].mtime_unix_ms, int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000);

    std::vector<ObjectInfo> may;
    ASSERT_EQ(sink_->list("2024/05/0", may), BH_OK);
    ASSERT_EQ(may.size(), 2u);
    EXPECT_EQ(may[0].key, "2024/05/01/a.gz");
    EXPECT_EQ(may[1].key, "2024/05/02/b.gz");

    std::vector<ObjectInfo> first_only;
    ASSERT_EQ(sink_->list("", first_only, 1), BH_OK);
    EXPECT_EQ(first_only.size(), 1u);
}

TEST_F(SinkLocal, StatReportsSizeOrNotFound) {
    ASSERT_EQ(sink_->store("s/x.gz", "12345").status, BH_OK);
    ObjectInfo info;
    ASSERT_EQ(sink_->stat("s/x.gz", info), BH_OK);
    EXPECT_EQ(info.key, "s/x.gz");
    EXPECT_EQ(info.size, 5);
    EXPECT_GT(info.mtime_unix_ms, 0);
    EXPECT_EQ(sink_->stat("s/y.gz", info), BH_FATAL);
    EXPECT_EQ(sink_->last_error(), "object 's/y.gz' not found");
    EXPECT_EQ(sink_->stat("s", info), BH_FATAL);  // a directory is not an object
    EXPECT_EQ(sink_->last_error(), "object 's' not found");
}

TEST_F(SinkLocal, RemoveDeletesObjectsAndEmptyDirectories) {
    ASSERT_EQ(sink_->store("2024/05/01/a.gz", "a").status, BH_OK);
    ASSERT_EQ(sink_->store("2024/05/02/b.gz", "b").status, BH_OK);
    ASSERT_EQ(sink_->remove({"2024/05/01/a.gz", "2024/05/09/missing.gz", "never.gz"}), BH_OK) << sink_->last_error();
    EXPECT_EQ(tree(root_), (std::vector<std::string>{"2024", "2024/05", "2024/05/02", "2024/05/02/b.gz"}));
    ASSERT_EQ(sink_->remove({"2024/05/02/b.gz"}), BH_OK);
    EXPECT_TRUE(tree(root_).empty());
    EXPECT_TRUE(fs::exists(root_));
}

TEST_F(SinkLocal, RemoveRejectsEscapingKeys) {
    std::ofstream(base_ / "victim") << "keep";
    EXPECT_EQ(sink_->remove({"../victim"}), BH_FATAL);
    EXPECT_EQ(sink_->last_error(), "key '../victim' escapes the sink directory");
    EXPECT_TRUE(fs::exists(base_ / "victim"));
}

TEST_F(SinkLocal, WorksWithFsyncDisabled) {
    Instance sink(sink_plugin(), {{"path", root_.string()}, {"fsync", false}});
    ASSERT_EQ(sink.create_status(), BH_OK);
    ASSERT_EQ(sink.store("nosync.gz", "data").status, BH_OK);
    EXPECT_EQ(read_file(root_ / "nosync.gz"), "data");
}

}  // namespace
}  // namespace backhaul
