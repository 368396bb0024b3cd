// encrypt-age through the plugin ABI, against the real `age` CLI in both directions, and end to end through the real
// `backhaul` binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>

#include "command_runner.hpp"
#include "plugin_harness.hpp"
#include "test_data.hpp"

namespace backhaul {
namespace {

using harness::Instance;
using harness::OptionList;
using harness::Plugin;
using harness::StreamResult;
using testing::CommandResult;
using testing::random_bytes;
using testing::TempDir;

constexpr size_t kChunk = 64 * 1024;

const Plugin& age_plugin() {
    static const Plugin plugin("encrypt-age");
    return plugin;
}

// A key pair made by the real age-keygen (which creates the file with mode 0600).
struct KeyFile {
    std::string path;
    std::string recipient;
};

KeyFile age_keygen(const TempDir& dir, const std::string& name) {
    std::string path = (dir / name).string();
    CommandResult made = testing::run_command({"age-keygen", "-o", path});
    if (made.exit_code != 0) throw std::runtime_error("age-keygen failed: " + made.err);
    CommandResult recipient = testing::run_command({"age-keygen", "-y", path});
    return {path, recipient.out.substr(0, recipient.out.find('\n'))};
}

StreamResult run(bh_direction direction, const std::string& data, const OptionList& options) {
    Instance age(age_plugin(), options);
    EXPECT_EQ(age.create_status(), BH_OK) << age.last_error();
    return age.transform(direction, data, 50000);
}

// `age` reads passphrases from the terminal only: give it one with script(1).
CommandResult age_with_passphrase(const std::string& command, const std::string& typed) {
    testing::CommandOptions options;
    options.stdin_data = typed;
    return testing::run_command({"script", "-qec", command, "/dev/null"}, options);
}

class EncryptAgeTest : public ::testing::Test {
  protected:
    void SetUp() override { key_ = age_keygen(tmp_, "key.txt"); }
    OptionList encrypt_to_key() const { return {{"recipients", std::vector<std::string>{key_.recipient}}}; }
    OptionList decrypt_with_key() const { return {{"identity_file", key_.path}}; }

    TempDir tmp_;
    KeyFile key_;
};

TEST_F(EncryptAgeTest, DescriptorDeclaresOptionsSecretPassphraseAndExt) {
    const bh_plugin_descriptor& d = age_plugin().descriptor();
    EXPECT_EQ(d.kind, BH_KIND_TRANSFORM);
    EXPECT_STREQ(d.name, "encrypt-age");
    ASSERT_EQ(d.option_count, 5u);
    const char* names[] = {"recipients", "recipients_file", "identity_file", "passphrase", "work_factor"};
    bh_option_type types[] = {BH_OPT_LIST, BH_OPT_STRING, BH_OPT_STRING, BH_OPT_STRING, BH_OPT_INT};
    for (uint32_t i = 0; i < 5; ++i) {
        EXPECT_STREQ(d.options[i].name, names[i]);
        EXPECT_EQ(d.options[i].type, types[i]);
        EXPECT_EQ((d.options[i].flags & BH_OPT_SECRET) != 0, i == 3) << names[i];
    }
    EXPECT_STREQ(d.options[4].default_value, "18");
    Instance age(age_plugin(), encrypt_to_key());
    ASSERT_EQ(age.create_status(), BH_OK) << age.last_error();
    EXPECT_EQ(age.host().variables(), (std::map<std::string, std::string>{{"ext", ".age"}}));
}

TEST_F(EncryptAgeTest, UnusableOptionsAreInvalidConfigWithClearMessages) {
    auto create_error = [](const OptionList& options) {
        Instance age(age_plugin(), options);
        EXPECT_EQ(age.create_status(), BH_INVALID_CONFIG);
        return age.last_error();
    };
    EXPECT_EQ(create_error({}),
              "encrypt-age needs 'recipients', 'recipients_file' or 'passphrase' to encrypt, and "
              "'identity_file' or 'passphrase' to decrypt");
    EXPECT_EQ(create_error({{"recipients", std::vector<std::string>{"age1nope"}}}),
              "option 'recipients': 'age1nope' is not an age X25519 recipient (age1...)");
    EXPECT_EQ(create_error({{"recipients", std::vector<std::string>{key_.recipient}}, {"passphrase", "pw"}}),
              "option 'passphrase': cannot be combined with 'recipients' or 'recipients_file': a passphrase must be "
              "an age file's only recipient");
    // work_factor's range is a limit the host checks: age_validate_completeness_test.cpp.

    // Only an identity: restore works, backup is refused when it starts.
    Instance restore_only(age_plugin(), decrypt_with_key());
    ASSERT_EQ(restore_only.create_status(), BH_OK);
    StreamResult encoded = restore_only.transform(BH_ENCODE, "x");
    EXPECT_EQ(encoded.status, BH_INVALID_CONFIG);
    EXPECT_EQ(encoded.error,
              "encrypt-age needs at least one recipient or a passphrase to encrypt: set 'recipients', "
              "'recipients_file' or 'passphrase'");
    Instance backup_only(age_plugin(), encrypt_to_key());
    StreamResult decoded = backup_only.transform(BH_DECODE, "x");
    EXPECT_EQ(decoded.status, BH_INVALID_CONFIG);
    EXPECT_EQ(decoded.error, "encrypt-age needs 'identity_file' or 'passphrase' to decrypt");
}

TEST_F(EncryptAgeTest, RefusesAnIdentityFileReadableByOthers) {
    chmod(key_.path.c_str(), 0644);
    Instance age(age_plugin(), decrypt_with_key());
    ASSERT_EQ(age.create_status(), BH_OK);
    StreamResult decoded = age.transform(BH_DECODE, "age-encryption.org/v1\n");
    EXPECT_EQ(decoded.status, BH_INVALID_CONFIG);
    EXPECT_EQ(decoded.error, "permissions 0644 for identity_file '" + key_.path +
                                 "' are too open: it must not be accessible by group or others (chmod 600 '" +
                                 key_.path + "')");
}

// Sizes around the 64 KiB STREAM chunk, and several MiB.
class AgeInterop : public EncryptAgeTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(AgeInterop, OurFileDecryptsWithAgeCli) {
    std::string input = random_bytes(GetParam(), 5);
    StreamResult encrypted = run(BH_ENCODE, input, encrypt_to_key());
    ASSERT_EQ(encrypted.status, BH_OK) << encrypted.error;
    testing::write_file(tmp_ / "ours.age", encrypted.data);
    CommandResult age = testing::run_command({"age", "-d", "-i", key_.path, (tmp_ / "ours.age").string()});
    ASSERT_EQ(age.exit_code, 0) << age.err;
    EXPECT_TRUE(age.out == input) << "age -d output differs for " << input.size() << " bytes";
    // And back through our own decoder.
    StreamResult decrypted = run(BH_DECODE, encrypted.data, decrypt_with_key());
    ASSERT_EQ(decrypted.status, BH_OK) << decrypted.error;
    EXPECT_TRUE(decrypted.data == input);
}

TEST_P(AgeInterop, AgeCliFileDecryptsWithUs) {
    std::string input = random_bytes(GetParam(), 6);
    testing::write_file(tmp_ / "in.bin", input);
    CommandResult age = testing::run_command(
        {"age", "-e", "-r", key_.recipient, "-o", (tmp_ / "theirs.age").string(), (tmp_ / "in.bin").string()});
    ASSERT_EQ(age.exit_code, 0) << age.err;
    StreamResult decrypted = run(BH_DECODE, testing::read_file(tmp_ / "theirs.age"), decrypt_with_key());
    ASSERT_EQ(decrypted.status, BH_OK) << decrypted.error;
    EXPECT_TRUE(decrypted.data == input) << "our decryption differs for " << input.size() << " bytes";
}

INSTANTIATE_TEST_SUITE_P(Sizes, AgeInterop, ::testing::Values(0, kChunk - 1, kChunk, kChunk + 1, 5 * 1024 * 1024 + 17),
                         [](const ::testing::TestParamInfo<size_t>& info) { return std::to_string(info.param); });

TEST_F(EncryptAgeTest, MultipleRecipientsEachDecryptBothWays) {
    KeyFile second = age_keygen(tmp_, "second.txt");
    std::string input = random_bytes(3 * kChunk + 9, 7);
    // recipients plus a recipients_file with comments.
    testing::write_file(tmp_ / "recipients.txt", "# backup team\n\n" + second.recipient + "\n");
    StreamResult encrypted = run(BH_ENCODE, input,
                                 {{"recipients", std::vector<std::string>{key_.recipient}},
                                  {"recipients_file", (tmp_ / "recipients.txt").string()}});
    ASSERT_EQ(encrypted.status, BH_OK) << encrypted.error;
    testing::write_file(tmp_ / "two.age", encrypted.data);
    for (const KeyFile& key : {key_, second}) {
        CommandResult age = testing::run_command({"age", "-d", "-i", key.path, (tmp_ / "two.age").string()});
        ASSERT_EQ(age.exit_code, 0) << age.err;
        EXPECT_TRUE(age.out == input);
    }
    testing::write_file(tmp_ / "in.bin", input);
    CommandResult age = testing::run_command({"age", "-e", "-r", key_.recipient, "-r", second.recipient, "-o",
                                              (tmp_ / "theirs.age").string(), (tmp_ / "in.bin").string()});
    ASSERT_EQ(age.exit_code, 0) << age.err;
    StreamResult decrypted = run(BH_DECODE, testing::read_file(tmp_ / "theirs.age"), {{"identity_file", second.path}});
    ASSERT_EQ(decrypted.status, BH_OK) << decrypted.error;
    EXPECT_TRUE(decrypted.data == input);
}

TEST_F(EncryptAgeTest, PassphraseFilesInteroperateWithAgeP) {
    std::string input = random_bytes(kChunk + 1, 8);
    testing::write_file(tmp_ / "in.bin", input);
    std::string theirs = (tmp_ / "theirs.age").string();
    CommandResult encrypted =
        age_with_passphrase("age -p -o " + theirs + " " + (tmp_ / "in.bin").string(), "horse battery\nhorse battery\n");
    ASSERT_EQ(encrypted.exit_code, 0) << encrypted.out;
    StreamResult decrypted = run(BH_DECODE, testing::read_file(theirs), {{"passphrase", "horse battery"}});
    ASSERT_EQ(decrypted.status, BH_OK) << decrypted.error;
    EXPECT_TRUE(decrypted.data == input);
    StreamResult wrong = run(BH_DECODE, testing::read_file(theirs), {{"passphrase", "staple"}});
    EXPECT_EQ(wrong.status, BH_FATAL);
    EXPECT_EQ(wrong.error, "no identity matched any of the recipients");

    StreamResult ours = run(BH_ENCODE, input, {{"passphrase", "horse battery"}, {"work_factor", 12}});
    ASSERT_EQ(ours.status, BH_OK) << ours.error;
    testing::write_file(tmp_ / "ours.age", ours.data);
    std::string out = (tmp_ / "out.bin").string();
    CommandResult age = age_with_passphrase("age -d -o " + out + " " + (tmp_ / "ours.age").string(), "horse battery\n");
    ASSERT_EQ(age.exit_code, 0) << age.out;
    EXPECT_TRUE(testing::read_file(out) == input);
}

TEST_F(EncryptAgeTest, TamperedTruncatedAndWrongKeyFilesFailWithClearErrors) {
    std::string input = random_bytes(2 * kChunk + 100, 9);
    testing::write_file(tmp_ / "in.bin", input);
    ASSERT_EQ(testing::run_command(
                  {"age", "-e", "-r", key_.recipient, "-o", (tmp_ / "f.age").string(), (tmp_ / "in.bin").string()})
                  .exit_code,
              0);
    std::string file = testing::read_file(tmp_ / "f.age");
    size_t payload = file.find("\n", file.find("\n---") + 1) + 1 + 16;

    std::string tampered = file;
    tampered[payload + kChunk + 50] ^= 0x20;
    StreamResult bad = run(BH_DECODE, tampered, decrypt_with_key());
    EXPECT_EQ(bad.status, BH_FATAL);
    EXPECT_EQ(bad.error, "age payload chunk 2 failed authentication: the file is corrupted, truncated or was modified");
    EXPECT_EQ(bad.data.size(), kChunk) << "only the chunk before the damage may be released";

    StreamResult cut = run(BH_DECODE, file.substr(0, payload + 2 * (kChunk + 16)), decrypt_with_key());
    EXPECT_EQ(cut.error, "truncated age file: the final chunk is missing");
    StreamResult cut_mid = run(BH_DECODE, file.substr(0, file.size() - 30), decrypt_with_key());
    EXPECT_EQ(cut_mid.error,
              "age payload chunk 3 failed authentication: the file is corrupted, truncated or was modified");
    StreamResult extended = run(BH_DECODE, file + "more", decrypt_with_key());
    EXPECT_EQ(extended.error,
              "age payload chunk 3 failed authentication: the file is corrupted, truncated or was modified");

    std::string header_tampered = file;
    header_tampered.insert(file.find("\n---") + 1, "-> extra-recipient\n\n");
    EXPECT_EQ(run(BH_DECODE, header_tampered, decrypt_with_key()).error, "bad age header MAC: the header was modified");

    KeyFile other = age_keygen(tmp_, "other.txt");
    StreamResult wrong = run(BH_DECODE, file, {{"identity_file", other.path}});
    EXPECT_EQ(wrong.status, BH_FATAL);
    EXPECT_EQ(wrong.error, "no identity matched any of the recipients");
    EXPECT_EQ(wrong.data, "");

    StreamResult not_age = run(BH_DECODE, "\x1f\x8b\x08\x00 gzip", decrypt_with_key());
    EXPECT_EQ(not_age.error, "not an age file: it does not start with 'age-encryption.org/v1'");
}

// ---- The whole pipeline through the real binary --------------------------------------------------------------------

TEST_F(EncryptAgeTest, PipelineCommandGzipAgeLocalRestoresByteExactAndAgeGunzipReadsTheObject) {
    std::string input = random_bytes(1 << 20, 10);
    for (int i = 0; i < 20000; ++i) input += "row " + std::to_string(i) + " of a dump\n";
    testing::write_file(tmp_ / "input.bin", input);
    std::filesystem::path sink = tmp_ / "sink";
    std::filesystem::create_directories(sink);
    std::string pipeline = "name = \"agetest\"\n\n[source]\nplugin = \"source-command\"\ncommand = [\"cat\", \"" +
                           (tmp_ / "input.bin").string() +
                           "\"]\n\n[[transform]]\nplugin = \"compress-gzip\"\n\n[[transform]]\nplugin = "
                           "\"encrypt-age\"\nrecipients = [\"" +
                           key_.recipient + "\"]\nidentity_file = \"" + key_.path +
                           "\"\n\n[sink]\nplugin = \"sink-local\"\npath = \"" + sink.string() +
                           "\"\nkey = \"backup{ext}\"\n";
    testing::write_file(tmp_ / "pipeline.toml", pipeline);

    CommandResult backup = testing::run_command({BACKHAUL_BINARY, "run", (tmp_ / "pipeline.toml").string()});
    ASSERT_EQ(backup.exit_code, 0) << backup.err;
    ASSERT_EQ(testing::files_below(sink), (std::vector<std::string>{"backup.gz.age", "backup.gz.age.manifest.json"}));
    std::string stored = testing::read_file(sink / "backup.gz.age");
    EXPECT_EQ(stored.substr(0, 22), "age-encryption.org/v1\n");

    CommandResult restore = testing::run_command({BACKHAUL_BINARY, "restore", (tmp_ / "pipeline.toml").string(),
                                                  "--key", "backup.gz.age", "--output", (tmp_ / "out.bin").string()});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    EXPECT_TRUE(testing::read_file(tmp_ / "out.bin") == input) << "restore is not byte-exact";

    // Without Backhaul: age -d | gunzip.
    CommandResult age = testing::run_command({"age", "-d", "-i", key_.path, (sink / "backup.gz.age").string()});
    ASSERT_EQ(age.exit_code, 0) << age.err;
    testing::CommandOptions gunzip_input;
    gunzip_input.stdin_data = age.out;
    CommandResult gunzip = testing::run_command({"gunzip", "-c"}, gunzip_input);
    ASSERT_EQ(gunzip.exit_code, 0) << gunzip.err;
    EXPECT_TRUE(gunzip.out == input) << "age -d | gunzip differs from the input";

    // A wrong identity fails the restore at this stage, with the one-line error.
    KeyFile other = age_keygen(tmp_, "other.txt");
    std::string wrong = pipeline;
    wrong.replace(wrong.find(key_.path + "\"\n\n[sink]"), key_.path.size(), other.path);
    testing::write_file(tmp_ / "wrong.toml", wrong);
    CommandResult failed = testing::run_command({BACKHAUL_BINARY, "restore", (tmp_ / "wrong.toml").string(), "--key",
                                                 "backup.gz.age", "--output", (tmp_ / "wrong.bin").string()});
    EXPECT_EQ(failed.exit_code, 1);
    EXPECT_THAT(failed.err,
                ::testing::HasSubstr("transform[1] (encrypt-age): no identity matched any of the recipients"));
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "wrong.bin"));
}

}  // namespace
}  // namespace backhaul
