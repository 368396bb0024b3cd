// sink-sftp end to end: the real `backhaul` binary runs pipelines of source-command into sink-sftp against a real
// OpenSSH server (SshServer), and every claim is checked in the served directory itself, independently of the plugin.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <time.h>

#include <memory>

#include "ssh_server.hpp"

namespace sftp_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;

class SftpSinkTest : public ::testing::Test {
  protected:
    // One server for the suite: starting sshd and making keys is most of the cost.
    static void SetUpTestSuite() { server_ = new SshServer(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    void SetUp() override {
        name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        area_ = server_->make_area(name_);
        scratch_ = server_->scratch_dir() / name_;
        std::filesystem::remove_all(scratch_);
        std::filesystem::create_directories(scratch_ / "locks");
    }

    void TearDown() override {
        if (HasFailure()) std::cerr << "sshd log:\n" << server_->log();
    }

    SshServer& server() { return *server_; }

    // The [sink] table: the server, this test's area as `path`, key auth unless `auth` replaces it.
    std::string sink(const std::string& key, const std::string& auth = "", const std::string& extra = "") const {
        std::string text = "plugin = \"sink-sftp\"\nhost = \"" + server_->host() +
                           "\"\nport = " + std::to_string(server_->port()) + "\nuser = \"" + server_->user() +
                           "\"\npath = \"" + area_.string() + "\"\ntimeout = \"10s\"\nkey = \"" + key + "\"\n";
        text += auth.empty() ? "private_key = \"" + server_->client_key().string() + "\"\n" : auth;
        if (extra.find("known_hosts") == std::string::npos && extra.find("host_key_sha256") == std::string::npos)
            text += "known_hosts = \"" + server_->known_hosts().string() + "\"\n";
        return text + extra;
    }

    // source-command running `script` with sh; the pipeline file is in the test's scratch directory.
    std::filesystem::path pipeline(const std::string& script, const std::string& sink_table,
                                   const std::string& tables = "") {
        std::string text = "name = \"sftp\"\nlock_dir = \"" + (scratch_ / "locks").string() +
                           "\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"sh\", \"-c\", \"" + script +
                           "\"]\n\n[sink]\n" + sink_table + "\n" + tables;
        std::filesystem::path file = scratch_ / "pipeline.toml";
        write_file(file, text);
        return file;
    }

    // A source that prints the file `name` of the scratch directory, holding `bytes`.
    std::string cat_input(const std::string& bytes, const std::string& name = "input.bin") {
        write_file(scratch_ / name, bytes);
        return "cat " + (scratch_ / name).string();
    }

    ProcessResult backhaul(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
        args.insert(args.begin(), BACKHAUL_BINARY);
        env["BACKHAUL_PLUGIN_PATH"] = SINK_SFTP_PLUGIN_DIR;
        return run_process(args, env);
    }

    static std::string binary_bytes(size_t size) {
        std::string bytes(size, '\0');
        std::mt19937 random(42);
        for (char& c : bytes) c = static_cast<char>(random() & 0xff);
        return bytes;
    }

    static inline SshServer* server_ = nullptr;
    std::string name_;
    std::filesystem::path area_;
    std::filesystem::path scratch_;
};

TEST_F(SftpSinkTest, AnUnknownHostKeyIsRefusedWithItsFingerprintAndNothingIsWritten) {
    write_file(scratch_ / "empty_known_hosts", "");
    auto file =
        pipeline(cat_input("data"),
                 sink("unknown.bin", "", "known_hosts = \"" + (scratch_ / "empty_known_hosts").string() + "\"\n"));
    ProcessResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("unknown host key: 127.0.0.1:" + std::to_string(server().port())));
    EXPECT_THAT(run.err, HasSubstr("ssh-ed25519 " + server().host_key_fingerprint()));
    EXPECT_THAT(run.err, HasSubstr("never accepted automatically"));
    EXPECT_THAT(SshServer::entries(area_), IsEmpty());
    // Nor was it added to the file.
    EXPECT_EQ(read_file(scratch_ / "empty_known_hosts"), "");
}

TEST_F(SftpSinkTest, ADifferentHostKeyIsAMismatch) {
    run_process({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (scratch_ / "other_key").string()});
    write_file(scratch_ / "known_hosts",
               "[127.0.0.1]:" + std::to_string(server().port()) + " " + read_file(scratch_ / "other_key.pub"));
    auto file = pipeline(cat_input("data"),
                         sink("mismatch.bin", "", "known_hosts = \"" + (scratch_ / "known_hosts").string() + "\"\n"));
    ProcessResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("HOST KEY MISMATCH: the host key of 127.0.0.1:" + std::to_string(server().port()) +
                                   " is ssh-ed25519 " + server().host_key_fingerprint()));
    EXPECT_THAT(SshServer::entries(area_), IsEmpty());
}

TEST_F(SftpSinkTest, APinnedHostKeyReplacesKnownHosts) {
    auto good = pipeline(cat_input("pinned"),
                         sink("pinned.bin", "", "host_key_sha256 = \"" + server().host_key_fingerprint() + "\"\n"));
    ProcessResult run = backhaul({"run", good.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(read_file(area_ / "pinned.bin"), "pinned");

    const std::string wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    auto bad = pipeline(cat_input("pinned"), sink("other.bin", "", "host_key_sha256 = \"" + wrong + "\"\n"));
    ProcessResult refused = backhaul({"run", bad.string()});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.err, HasSubstr("not the pinned host_key_sha256 " + wrong));
    EXPECT_FALSE(std::filesystem::exists(area_ / "other.bin"));
}

TEST_F(SftpSinkTest, PasswordLoginFromTheEnvironmentWorksAndTheSecretIsNeverPrinted) {
    auto file = pipeline(cat_input("by password"), sink("password.bin", "password = \"${env:SFTP_PASSWORD}\"\n"));
    ProcessResult run =
        backhaul({"--log-level", "debug", "run", file.string()}, {{"SFTP_PASSWORD", server().password()}});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(read_file(area_ / "password.bin"), "by password");
    EXPECT_THAT(run.out + run.err, Not(HasSubstr(server().password())));

    const std::string wrong = "wrong-" + server().password();
    auto denied_file = pipeline(cat_input("x"), sink("denied.bin", "password = \"${env:SFTP_PASSWORD}\"\n"));
    ProcessResult denied = backhaul({"run", denied_file.string()}, {{"SFTP_PASSWORD", wrong}});
    EXPECT_EQ(denied.exit_code, 1);
    EXPECT_THAT(denied.err, HasSubstr("SSH authentication as 'backhaul-sftp' to 127.0.0.1:"));
    EXPECT_THAT(denied.out + denied.err, Not(HasSubstr(wrong)));
    EXPECT_FALSE(std::filesystem::exists(area_ / "denied.bin"));
}

TEST_F(SftpSinkTest, AnEncryptedKeyAndItsPassphraseFromTheEnvironmentWork) {
    const std::string passphrase = random_text(20);
    const std::filesystem::path key = scratch_ / "encrypted_key";
    ProcessResult keygen =
        run_process({"ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "encrypted", "-f", key.string()});
    ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
    // Authorise it too (the server reads authorized_keys on every login).
    std::string authorized = read_file(server().client_key().string() + ".pub") + read_file(key.string() + ".pub");
    write_file(server().client_key().parent_path() / "authorized_keys", authorized);

    auto file =
        pipeline(cat_input("by encrypted key"), sink("encrypted.bin",
                                                     "private_key_data = \"${env:SFTP_KEY}\"\n"
                                                     "private_key_passphrase = \"${env:SFTP_KEY_PASSPHRASE}\"\n"));
    ProcessResult run =
        backhaul({"run", file.string()}, {{"SFTP_KEY", read_file(key)}, {"SFTP_KEY_PASSPHRASE", passphrase}});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(read_file(area_ / "encrypted.bin"), "by encrypted key");
    EXPECT_THAT(run.out + run.err, Not(HasSubstr(passphrase)));
}

TEST_F(SftpSinkTest, ListSkipsTemporariesAndFilesOutsideThePrefix) {
    auto file = pipeline(cat_input("listed"), sink("kept/%Y%m%d-%H%M%S.bin"));
    ProcessResult run = backhaul({"run", file.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    // A leftover temporary of a crashed run, placed where list looks.
    server().place(area_, "kept/.20200101-000000.bin.backhaul-tmp-0123456789abcdef", "partial");
    ProcessResult list = backhaul({"list", file.string(), "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_THAT(list.out, HasSubstr("kept/"));
    EXPECT_THAT(list.out, Not(HasSubstr("backhaul-tmp")));
}

TEST_F(SftpSinkTest, CheckProvesLoginDirectoryAndTheNoReplaceRename) {
    auto file = pipeline("true", sink("checked/%Y%m%d-%H%M%S.bin"));
    ProcessResult check = backhaul({"check", file.string()});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_THAT(check.out + check.err, HasSubstr("SSH_FXP_RENAME refused an existing name"));
    EXPECT_THAT(check.out + check.err, HasSubstr(server().host_key_fingerprint()));
    EXPECT_THAT(SshServer::file_names(area_), IsEmpty());
}

TEST_F(SftpSinkTest, AKeyThatWouldLeaveThePathIsRefused) {
    auto file = pipeline(cat_input("data"), sink("../escaped.bin"));
    ProcessResult run = backhaul({"run", file.string()});
    EXPECT_NE(run.exit_code, 0);
    EXPECT_THAT(run.err, HasSubstr("escape"));
    EXPECT_FALSE(std::filesystem::exists(server().served_dir() / "escaped.bin"));
    EXPECT_THAT(SshServer::entries(area_), IsEmpty());
}

TEST_F(SftpSinkTest, AMissingBaseDirectoryIsNotCreated) {
    std::filesystem::remove_all(area_);
    auto file = pipeline(cat_input("data"), sink("x.bin"));
    ProcessResult run = backhaul({"run", file.string()});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.err, HasSubstr("directory '" + area_.string() + "' does not exist on 127.0.0.1:"));
    EXPECT_FALSE(std::filesystem::exists(area_));
}

}  // namespace
}  // namespace sftp_test
