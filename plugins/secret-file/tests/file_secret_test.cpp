// secret-file: both formats, the access rule (ssh's, with PostgreSQL's group allowance for root's files) on ordinary
// files, hostile paths and Kubernetes Secret volumes, and parse errors that give a line but never the content.
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>

#include "command_runner.hpp"
#include "secret_fetch.hpp"
#include "secret_file_access.hpp"
#include "secret_file_format.hpp"

namespace backhaul::secret_file {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr const char* kPassword = "Qx7-Distinctive-Pa55w0rd-3vN";

class SecretFileTest : public ::testing::Test {
  protected:
    std::string file(const std::string& content, mode_t mode = 0600) {
        std::filesystem::path path = tmp_ / ("secret" + std::to_string(++count_));
        testing::write_file(path, content);
        chmod(path.c_str(), mode);
        return path.string();
    }

    harness::SecretFetch fetch(const harness::OptionList& options) {
        harness::SecretFetch result = harness::fetch_secret(plugin_, options);
        EXPECT_THAT(result.error, Not(HasSubstr(kPassword)));
        EXPECT_THAT(result.log, Not(HasSubstr(kPassword)));
        return result;
    }
    std::string error_for(const std::string& content) {
        harness::SecretFetch r = fetch({{"path", file(content)}});
        EXPECT_EQ(r.status, BH_FATAL);
        return r.error;
    }

    harness::Plugin plugin_{"secret-file"};
    testing::TempDir tmp_;
    int count_ = 0;
};

TEST_F(SecretFileTest, ReadsAJsonObject) {
    harness::SecretFetch r =
        fetch({{"path", file(std::string(R"(  {"password": ")") + kPassword + R"(", "port": 15432, "user": "app"})")}});
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("password", kPassword), Pair("port", "15432"), Pair("user", "app")));
}

TEST_F(SecretFileTest, ReadsKeyValueLines) {
    std::string content = std::string("# database credentials\n\nexport DB_USER=app\n  DB_PASSWORD = ") + kPassword +
                          "  \r\nQUOTED=\"  spaced # not a comment \"\nSINGLE='a=b'\nEMPTY=\n";
    harness::SecretFetch r = fetch({{"path", file(content)}});
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("DB_PASSWORD", kPassword), Pair("DB_USER", "app"), Pair("EMPTY", ""),
                                      Pair("QUOTED", "  spaced # not a comment "), Pair("SINGLE", "a=b")));
}

TEST_F(SecretFileTest, FormatOptionOverridesDetection) {
    std::string path = file("{\"a\":\"b\"}");
    harness::SecretFetch r = fetch({{"path", path}, {"format", "env"}});
    EXPECT_EQ(r.error, "secret file '" + path + "' line 1: expected KEY=VALUE");
    harness::SecretFetch json = fetch({{"path", file("a=b\n")}, {"format", "json"}});
    EXPECT_THAT(json.error, HasSubstr("is not valid JSON: syntax error at line 1, column 1"));
}

// ---- The access rule on its own: every owner, reader and mode, including readers the test process cannot be ----

OpenedFile opened(mode_t type_and_mode, uid_t owner, uid_t reader, bool secret_volume = false) {
    return {.path = "/s",
            .target = "",
            .mode = type_and_mode,
            .owner = owner,
            .reader = reader,
            .secret_volume = secret_volume};
}

std::string octal(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    return text;
}

TEST(SecretFileAccess, AUsersOwnFileIsTheirsAlone) {
    for (mode_t mode : {0600, 0400, 0700}) EXPECT_EQ(access_problem(opened(S_IFREG | mode, 1000, 1000)), "") << mode;
    for (mode_t mode : {0640, 0440, 0604, 0660, 0644, 0610, 0601}) {
        EXPECT_EQ(access_problem(opened(S_IFREG | mode, 1000, 1000)),
                  "permissions " + octal(mode) + " for '/s' are too open; chmod 600 '/s'");
    }
}

TEST(SecretFileAccess, ARootFileMayBeSharedWithAGroupForReading) {
    for (uid_t reader : {0u, 10001u}) {
        for (mode_t mode : {0600, 0400, 0640, 0440, 0740})
            EXPECT_EQ(access_problem(opened(S_IFREG | mode, 0, reader)), "") << reader << " " << mode;
    }
    for (mode_t mode : {0644, 0604, 0660, 0670, 0650, 0444}) {
        EXPECT_EQ(access_problem(opened(S_IFREG | mode, 0, 0)),
                  "permissions " + octal(mode) + " for '/s' are too open; chmod 600 '/s'");
        // A non-root reader of a root file needs the group, so chmod 600 would lock it out.
        EXPECT_EQ(access_problem(opened(S_IFREG | mode, 0, 10001)),
                  "permissions " + octal(mode) +
                      " for '/s' are too open; chmod 640 '/s' (root owns it: a group of this user may read it, "
                      "others may not)");
    }
}

TEST(SecretFileAccess, ASecretVolumeGetsTheFixThatWorksThere) {
    const std::string fix =
        "; it is in a Kubernetes Secret volume, which cannot be chmod'ed: set defaultMode: 0400 on the volume (with "
        "the pod's fsGroup the kubelet makes it 0440, which is accepted)";
    // 0644 is what the kubelet writes when the volume gives no defaultMode.
    EXPECT_EQ(access_problem(opened(S_IFREG | 0644, 0, 10001, true)),
              "permissions 0644 for '/s' are too open (others may read it)" + fix);
    EXPECT_EQ(access_problem(opened(S_IFREG | 0444, 0, 0, true)),
              "permissions 0444 for '/s' are too open (others may read it)" + fix);
    EXPECT_EQ(access_problem(opened(S_IFREG | 0660, 0, 10001, true)),
              "permissions 0660 for '/s' are too open (its group may write it)" + fix);
    EXPECT_EQ(access_problem(opened(S_IFREG | 0440, 0, 10001, true)), "");
    EXPECT_EQ(access_problem(opened(S_IFREG | 0400, 0, 0, true)), "");
}

TEST(SecretFileAccess, OwnershipComesFirstAndNamesTheLinkTarget) {
    OpenedFile file = opened(S_IFREG | 0644, 4321, 10001);
    file.path = "/run/secrets/db";
    file.target = "/home/mallory/db";
    EXPECT_EQ(access_problem(file),
              "secret file '/run/secrets/db' (a link to '/home/mallory/db') is owned by uid 4321, not by this user "
              "(uid 10001) or root; chown it to one of them");
}

TEST(SecretFileAccess, OnlyRegularFiles) {
    for (mode_t type : {S_IFDIR, S_IFIFO, S_IFCHR, S_IFSOCK, S_IFBLK})
        EXPECT_EQ(access_problem(opened(type | 0600, 0, 0)), "secret file '/s' is not a regular file") << type;
}

// ---- The rule applied to real files, by whoever runs the test (root in CI) ----

TEST_F(SecretFileTest, RefusesAFileOthersCanRead) {
    for (mode_t mode : {0644, 0604, 0660, 0601}) {
        std::string path = file("A=" + std::string(kPassword) + "\n", mode);
        harness::SecretFetch r = fetch({{"path", path}});
        EXPECT_EQ(r.status, BH_FATAL);
        EXPECT_EQ(r.error, "permissions " + octal(mode) + " for '" + path + "' are too open; chmod 600 '" + path + "'");
    }
    EXPECT_EQ(fetch({{"path", file("A=b\n", 0400)}}).status, BH_OK);
    // Group read is root's to grant (PostgreSQL's rule for key files), not a user's.
    EXPECT_EQ(fetch({{"path", file("A=b\n", 0640)}}).status, geteuid() == 0 ? BH_OK : BH_FATAL);
}

TEST_F(SecretFileTest, RefusesAFileOwnedBySomeoneElse) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    std::string path = file("A=b\n");
    ASSERT_EQ(chown(path.c_str(), 4321, 4321), 0);
    // root could read it anyway; the rule is about who controls the file, as ssh's is.
    EXPECT_EQ(fetch({{"path", path}}).error, "secret file '" + path +
                                                 "' is owned by uid 4321, not by this user (uid 0) or root; chown it "
                                                 "to one of them");
    // Through a symlink, the file it leads to is what counts, and the message says which it is.
    std::string link = (tmp_ / "link").string();
    ASSERT_EQ(symlink(path.c_str(), link.c_str()), 0);
    EXPECT_EQ(fetch({{"path", link}}).error, "secret file '" + link + "' (a link to '" + path +
                                                 "') is owned by uid 4321, not by this user (uid 0) or root; chown "
                                                 "it to one of them");
}

TEST_F(SecretFileTest, MissingOrNonRegularFilesAreClearErrors) {
    std::string missing = (tmp_ / "nope").string();
    EXPECT_EQ(fetch({{"path", missing}}).error, "cannot open secret file '" + missing + "': No such file or directory");
    std::filesystem::create_directory(tmp_ / "dir");
    chmod((tmp_ / "dir").c_str(), 0700);
    EXPECT_EQ(fetch({{"path", (tmp_ / "dir").string()}}).error,
              "secret file '" + (tmp_ / "dir").string() + "' is not a regular file");
}

TEST_F(SecretFileTest, HostilePathsFailCleanly) {
    std::string dangling = (tmp_ / "dangling").string();
    ASSERT_EQ(symlink("nowhere", dangling.c_str()), 0);
    EXPECT_EQ(fetch({{"path", dangling}}).error,
              "cannot open secret file '" + dangling + "': No such file or directory");

    std::string loop_a = (tmp_ / "loop-a").string(), loop_b = (tmp_ / "loop-b").string();
    ASSERT_EQ(symlink(loop_b.c_str(), loop_a.c_str()), 0);
    ASSERT_EQ(symlink(loop_a.c_str(), loop_b.c_str()), 0);
    EXPECT_EQ(fetch({{"path", loop_a}}).error,
              "cannot open secret file '" + loop_a + "': Too many levels of symbolic links");

    // A FIFO would block open() until a writer came; the run must fail at once instead (ctest's timeout otherwise).
    std::string fifo = (tmp_ / "fifo").string();
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(fetch({{"path", fifo}}).error, "secret file '" + fifo + "' is not a regular file");

    std::string device = (tmp_ / "device").string();
    ASSERT_EQ(symlink("/dev/null", device.c_str()), 0);
    EXPECT_EQ(fetch({{"path", device}}).error,
              "secret file '" + device + "' (a link to '/dev/null') is not a regular file");

    // A link to a file anyone can read, such as /etc/passwd, is as readable as the file.
    std::string passwd = (tmp_ / "passwd").string();
    ASSERT_EQ(symlink("/etc/passwd", passwd.c_str()), 0);
    harness::SecretFetch r = fetch({{"path", passwd}});
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(
        r.error,
        "permissions 0644 for '" + passwd + "' (a link to '/etc/passwd') are too open; chmod " +
            (geteuid() == 0 ? "600 '/etc/passwd'"
                            : "640 '/etc/passwd' (root owns it: a group of this user may read it, others may not)"));
}

// ---- Kubernetes Secret volumes ----

// A Secret volume laid out as the kubelet's AtomicWriter writes it (pkg/volume/util/atomic_writer.go), with the
// ownership SetVolumeOwnership gives it for a pod's fsGroup (pkg/volume/volume_linux.go):
//   DIR/..2026_12_01_03_15_00.1234567891/KEY  the file: root's, mode defaultMode; with an fsGroup, group fsGroup and
//                                             mode defaultMode | 0440 (a Secret volume is read-only)
//   DIR/..data -> ..2026_12_01_03_15_00.1234567891
//   DIR/KEY -> ..data/KEY
// An update writes a new timestamped directory, points ..data_tmp at it, renames that over ..data (atomic) and
// removes the old directory.
class SecretVolume {
  public:
    SecretVolume(std::filesystem::path dir, mode_t default_mode, std::optional<gid_t> fs_group)
        : dir_(std::move(dir)), default_mode_(default_mode), fs_group_(fs_group) {
        std::filesystem::create_directories(dir_);
        chmod(dir_.c_str(), 01777);  // the volume's tmpfs root
    }

    void write(const std::map<std::string, std::string>& payload) {
        std::string old_dir = data_dir();
        std::string ts_dir =
            "..2026_12_01_03_15_0" + std::to_string(generation_) + ".123456789" + std::to_string(generation_);
        ++generation_;
        std::filesystem::create_directory(dir_ / ts_dir);
        chmod((dir_ / ts_dir).c_str(), 0755);
        for (const auto& [key, content] : payload) {
            std::filesystem::path file = dir_ / ts_dir / key;
            testing::write_file(file, content);
            mode_t mode = default_mode_;
            if (fs_group_) {
                EXPECT_EQ(lchown(file.c_str(), static_cast<uid_t>(-1), *fs_group_), 0);
                mode |= 0440;
            }
            EXPECT_EQ(chmod(file.c_str(), mode), 0);
        }
        if (fs_group_) {
            EXPECT_EQ(lchown((dir_ / ts_dir).c_str(), static_cast<uid_t>(-1), *fs_group_), 0);
            chmod((dir_ / ts_dir).c_str(), 02755);
        }
        EXPECT_EQ(symlink(ts_dir.c_str(), (dir_ / "..data_tmp").c_str()), 0);
        EXPECT_EQ(rename((dir_ / "..data_tmp").c_str(), (dir_ / "..data").c_str()), 0);
        for (const auto& [key, content] : payload) {
            std::error_code ec;
            if (!std::filesystem::is_symlink(dir_ / key, ec)) {
                EXPECT_EQ(symlink(("..data/" + key).c_str(), (dir_ / key).c_str()), 0);
            }
        }
        if (!old_dir.empty()) std::filesystem::remove_all(dir_ / old_dir);
    }

    std::string data_dir() const {
        std::error_code ec;
        std::filesystem::path target = std::filesystem::read_symlink(dir_ / "..data", ec);
        return ec ? "" : target.string();
    }
    std::string path(const std::string& key) const { return (dir_ / key).string(); }

  private:
    std::filesystem::path dir_;
    mode_t default_mode_;
    std::optional<gid_t> fs_group_;
    int generation_ = 1;
};

constexpr gid_t kFsGroup = 2000;

TEST_F(SecretFileTest, ReadsAKubernetesSecretVolume) {
    if (geteuid() != 0) GTEST_SKIP() << "the kubelet writes the files as root";
    struct Case {
        mode_t default_mode;
        std::optional<gid_t> fs_group;
        mode_t expected_mode;
    };
    // 0400 is the example's defaultMode; the kubelet turns it into 0440 when the pod has an fsGroup.
    for (Case c : {Case{0400, std::nullopt, 0400}, Case{0400, kFsGroup, 0440}, Case{0440, std::nullopt, 0440},
                   Case{0600, kFsGroup, 0640}}) {
        SecretVolume volume(tmp_ / ("volume-" + octal(c.default_mode) + (c.fs_group ? "-fsgroup" : "")), c.default_mode,
                            c.fs_group);
        volume.write({{"credentials", std::string("PGPASSWORD=") + kPassword + "\nS3_SECRET_KEY=s3\n"}});
        struct stat st {};
        ASSERT_EQ(stat(volume.path("credentials").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, c.expected_mode);
        harness::SecretFetch r = fetch({{"path", volume.path("credentials")}});
        ASSERT_EQ(r.status, BH_OK) << r.error;
        EXPECT_THAT(r.fields, ElementsAre(Pair("PGPASSWORD", kPassword), Pair("S3_SECRET_KEY", "s3")));
    }
}

TEST_F(SecretFileTest, RefusesAKubernetesSecretVolumeOthersCanRead) {
    if (geteuid() != 0) GTEST_SKIP() << "the kubelet writes the files as root";
    // 0644: the kubelet's default when the volume sets no defaultMode.
    for (mode_t mode : {0444, 0644}) {
        SecretVolume volume(tmp_ / ("volume-" + octal(mode)), mode, kFsGroup);
        volume.write({{"credentials", "A=b\n"}});
        std::string path = volume.path("credentials");
        EXPECT_EQ(fetch({{"path", path}}).error,
                  "permissions " + octal(mode) + " for '" + path +
                      "' are too open (others may read it); it is in a Kubernetes Secret volume, which cannot be "
                      "chmod'ed: set defaultMode: 0400 on the volume (with the pod's fsGroup the kubelet makes it "
                      "0440, which is accepted)");
    }
}

TEST_F(SecretFileTest, AnUpdatedSecretVolumeIsReadAfresh) {
    if (geteuid() != 0) GTEST_SKIP() << "the kubelet writes the files as root";
    SecretVolume volume(tmp_ / "volume", 0400, kFsGroup);
    volume.write({{"credentials", "PASSWORD=first\n"}});
    std::string first_dir = volume.data_dir();
    EXPECT_THAT(fetch({{"path", volume.path("credentials")}}).fields, ElementsAre(Pair("PASSWORD", "first")));
    volume.write({{"credentials", "PASSWORD=second\n"}});
    EXPECT_NE(volume.data_dir(), first_dir);
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "volume" / first_dir));
    EXPECT_THAT(fetch({{"path", volume.path("credentials")}}).fields, ElementsAre(Pair("PASSWORD", "second")));
}

TEST_F(SecretFileTest, ASecretVolumeCannotLeadToAnotherUsersFile) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    // ..data swapped to a directory outside the volume, holding a file someone else owns.
    std::filesystem::path elsewhere = tmp_ / "elsewhere";
    testing::write_file(elsewhere / "credentials", "A=b\n");
    chmod((elsewhere / "credentials").c_str(), 0400);
    ASSERT_EQ(chown((elsewhere / "credentials").c_str(), 4321, 4321), 0);
    std::filesystem::create_directories(tmp_ / "volume");
    ASSERT_EQ(symlink(elsewhere.c_str(), (tmp_ / "volume" / "..data").c_str()), 0);
    ASSERT_EQ(symlink("..data/credentials", (tmp_ / "volume" / "credentials").c_str()), 0);
    std::string path = (tmp_ / "volume" / "credentials").string();
    EXPECT_EQ(fetch({{"path", path}}).error,
              "secret file '" + path + "' (a link to '" + (elsewhere / "credentials").string() +
                  "') is owned by uid 4321, not by this user (uid 0) or root; chown it to one of them");
}

// What `fetch` answers to a process running as uid 10001 with these supplementary groups, as in a pod with
// runAsUser: 10001, runAsGroup: 10001 and fsGroup (the kubelet adds the fsGroup to the container's groups).
std::string fetch_as_pod_user(const harness::Plugin& plugin, const std::string& path, std::vector<gid_t> groups) {
    int out[2];
    if (pipe(out) != 0) return "pipe failed";
    pid_t child = fork();
    if (child == 0) {
        close(out[0]);
        std::string report;
        if (setgroups(groups.size(), groups.data()) != 0 || setgid(10001) != 0 || setuid(10001) != 0) {
            report = "cannot become uid 10001";
        } else {
            harness::SecretFetch r = harness::fetch_secret(plugin, {{"path", path}});
            report = r.status == BH_OK ? "ok:" + std::to_string(r.fields.size()) : r.error;
        }
        ssize_t ignored = ::write(out[1], report.data(), report.size());
        (void)ignored;
        _exit(0);
    }
    close(out[1]);
    std::string report;
    char buffer[1024];
    for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) > 0;) report.append(buffer, static_cast<size_t>(n));
    close(out[0]);
    int status = 0;
    waitpid(child, &status, 0);
    return report;
}

TEST_F(SecretFileTest, ANonRootPodReadsItsSecretVolumeThroughFsGroup) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to become the pod's user";
    chmod(tmp_.path().c_str(), 0755);
    SecretVolume with_fs_group(tmp_ / "with-fsgroup", 0400, kFsGroup);
    with_fs_group.write({{"credentials", "A=b\nC=d\n"}});
    EXPECT_EQ(fetch_as_pod_user(plugin_, with_fs_group.path("credentials"), {kFsGroup}), "ok:2");

    // Without an fsGroup the file stays root:root 0400: unreadable by the pod, and the error says what to add.
    SecretVolume without(tmp_ / "without-fsgroup", 0400, std::nullopt);
    without.write({{"credentials", "A=b\n"}});
    EXPECT_EQ(fetch_as_pod_user(plugin_, without.path("credentials"), {}),
              "cannot open secret file '" + without.path("credentials") +
                  "': Permission denied; the kubelet writes a Secret volume's files as root: set the pod's "
                  "securityContext.fsGroup so that the file's group is one of this user's (defaultMode: 0400 then "
                  "becomes 0440)");

    // World-readable: readable, and still refused.
    SecretVolume open_volume(tmp_ / "open", 0444, kFsGroup);
    open_volume.write({{"credentials", "A=b\n"}});
    EXPECT_THAT(fetch_as_pod_user(plugin_, open_volume.path("credentials"), {kFsGroup}),
                HasSubstr("permissions 0444 for '" + open_volume.path("credentials") +
                          "' are too open (others may read it); it is in a Kubernetes Secret volume"));
}

TEST_F(SecretFileTest, KeyValueErrorsNameTheLineNotTheContent) {
    std::string path = file(std::string("A=1\n# c\n") + kPassword + "\n");
    EXPECT_EQ(fetch({{"path", path}}).error, "secret file '" + path + "' line 3: expected KEY=VALUE");
    EXPECT_THAT(error_for(std::string("A=1\nbad key ") + kPassword + "=x\n"),
                HasSubstr(" line 2: the key must be letters, digits, '_', '.' or '-'"));
    EXPECT_THAT(error_for("A=1\nB=2\nA=3\n"), HasSubstr(" line 3: key 'A' repeats line 1"));
    EXPECT_THAT(error_for(std::string("P=\"") + kPassword + "\n"),
                HasSubstr(" line 1: unterminated quote in the value of 'P'"));
    EXPECT_THAT(error_for("# only a comment\n\n"), HasSubstr("' has no fields"));
}

TEST_F(SecretFileTest, JsonErrorsGiveLineAndColumnNotTheContent) {
    std::string path = file(std::string("{\n  \"a\": \"1\",\n  \"p\": \"") + kPassword + "\n}");
    EXPECT_EQ(fetch({{"path", path}}).error,
              "secret file '" + path + "' is not valid JSON: syntax error at line 3, column 37");
    EXPECT_THAT(error_for("{\"a\": [1, 2,]}"), HasSubstr("is not valid JSON: syntax error at line 1, column 13"));
    EXPECT_THAT(error_for("{}"), HasSubstr("' has no fields"));
}

TEST(SecretFileFormat, JsonThatIsNotAnObjectIsRefused) {
    EXPECT_THROW(parse_json_fields(crypto::SecretString("[1,2]")), std::runtime_error);
    try {
        parse_secret_file(crypto::SecretString("  [\"x\"]"), Format::json);
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "holds JSON but not an object of fields");
    }
}

}  // namespace
}  // namespace backhaul::secret_file
