// encrypt-age: encrypts the stream to age recipients or a passphrase on backup (age-encryption.org/v1, readable by
// the standard `age` tool), decrypts it with an identity file or the passphrase on restore and verify.
#include <backhaul/sdk.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "age_file.hpp"
#include "recipients.hpp"

namespace backhaul {
namespace {

constexpr int64_t kMinWorkFactor = 1;

const bh_option_spec kOptions[] = {
    {"recipients", BH_OPT_LIST, 0, "[]", nullptr, "X25519 recipients (age1...) the backup is encrypted to."},
    {"recipients_file", BH_OPT_STRING, 0, nullptr, nullptr,
     "File with one age1... recipient per line (# comments and blank lines ignored), read when a backup starts."},
    {"identity_file", BH_OPT_STRING, 0, nullptr, nullptr,
     "Identity file (AGE-SECRET-KEY-1... lines, as age-keygen writes) for restore and verify; must be mode 0600 or "
     "stricter."},
    {"passphrase", BH_OPT_STRING, BH_OPT_SECRET, nullptr, nullptr,
     "Passphrase (scrypt recipient) instead of recipients; it must then be the file's only recipient."},
    {"work_factor", BH_OPT_INT, 0, "18", nullptr,
     "scrypt work factor (log2 N) when encrypting with a passphrase, 1 to 22; each step doubles time and memory."},
};
// Checked by the host before create (and by `backhaul validate`).
const bh_option_limits kLimits[] = {
    {"recipients_file", BH_LIMIT_MIN, 1, 0},
    {"identity_file", BH_LIMIT_MIN, 1, 0},
    {"passphrase", BH_LIMIT_MIN, 1, 0},
    {"work_factor", BH_LIMIT_MIN | BH_LIMIT_MAX, kMinWorkFactor, age::kMaxScryptWorkFactor},
};
const char* const kVariables[] = {"ext", nullptr};

// Adapts the SDK's Output to the format code's byte sink.
age::ByteSink to_output(Output out) {
    return [out](std::span<const uint8_t> bytes) { out.write(bytes); };
}

class EncryptStream final : public TransformStream {
  public:
    EncryptStream(const age::EncryptionKeys& keys, Output out) : encryptor_(keys, to_output(out)) {}
    void write(std::span<const uint8_t> data) override { encryptor_.write(data); }
    void finish() override { encryptor_.finish(); }

  private:
    age::AgeEncryptor encryptor_;
};

class DecryptStream final : public TransformStream {
  public:
    DecryptStream(age::DecryptionKeys keys, Output out) : decryptor_(std::move(keys), to_output(out)) {}
    void write(std::span<const uint8_t> data) override { decryptor_.write(data); }
    void finish() override { decryptor_.finish(); }

  private:
    age::AgeDecryptor decryptor_;
};

class AgeTransform final : public Transform {
  public:
    // Formats and combinations; the files are not read here (validate does no I/O): a recipients or identity file
    // that is missing, unreadable, too open or malformed is found when a stream needs it (and by `backhaul check`).
    static void validate(const Options& options, Problems& problems) {
        bool has_recipients = options.has("recipients");  // a deferred list counts as given
        if (options.known("recipients")) {
            const std::vector<std::string> recipients = options.list("recipients");
            has_recipients = !recipients.empty();
            for (const std::string& text : recipients)
                if (!age::parse_recipient(text))
                    problems.add("recipients", "'" + text + "' is not an age X25519 recipient (age1...)");
        }
        const bool has_passphrase = options.has("passphrase");
        if (has_passphrase && (has_recipients || options.has("recipients_file")))
            problems.add("passphrase",
                         "cannot be combined with 'recipients' or 'recipients_file': a passphrase must be an age "
                         "file's only recipient");
        if (!has_recipients && !options.has("recipients_file") && !has_passphrase && !options.has("identity_file"))
            problems.add_stage(
                "encrypt-age needs 'recipients', 'recipients_file' or 'passphrase' to encrypt, and 'identity_file' or "
                "'passphrase' to decrypt");
    }

    AgeTransform(Host host, const Options& options)
        : recipients_file_(options.optional_string("recipients_file")),
          identity_file_(options.optional_string("identity_file")),
          passphrase_(options.optional_string("passphrase")),
          work_factor_(options.integer("work_factor")) {
        for (const std::string& text : options.list("recipients")) recipients_.push_back(*age::parse_recipient(text));
        host.set_variable("ext", ".age");
    }

    std::unique_ptr<TransformStream> open(Direction direction, Output out) override {
        if (direction == Direction::encode) return std::make_unique<EncryptStream>(encryption_keys(), out);
        return std::make_unique<DecryptStream>(decryption_keys(), out);
    }

  private:
    // Key files are read when a stream needs them, not in the constructor: a backup host needs only the public
    // recipients, and the identity may exist only where restores run.
    age::EncryptionKeys encryption_keys() const {
        age::EncryptionKeys keys;
        keys.recipients = recipients_;
        if (recipients_file_) {
            std::vector<age::X25519Recipient> from_file = age::read_recipients_file(*recipients_file_);
            keys.recipients.insert(keys.recipients.end(), from_file.begin(), from_file.end());
        }
        keys.passphrase = passphrase_;
        keys.work_factor = static_cast<int>(work_factor_);
        if (keys.recipients.empty() && !keys.passphrase)
            throw invalid_config(
                "encrypt-age needs at least one recipient or a passphrase to encrypt: set "
                "'recipients', 'recipients_file' or 'passphrase'");
        return keys;
    }

    age::DecryptionKeys decryption_keys() const {
        if (!identity_file_ && !passphrase_)
            throw invalid_config("encrypt-age needs 'identity_file' or 'passphrase' to decrypt");
        age::DecryptionKeys keys;
        if (identity_file_) keys.identities = age::read_identity_file(*identity_file_);
        keys.passphrase = passphrase_;
        return keys;
    }

    std::vector<age::X25519Recipient> recipients_;
    std::optional<std::string> recipients_file_;
    std::optional<std::string> identity_file_;
    std::optional<std::string> passphrase_;
    int64_t work_factor_;
};

const PluginInfo kInfo{
    .name = "encrypt-age",
    .version = "0.1.0",
    .description = "Encrypts the stream in the age format (age-encryption.org/v1); decrypts it on restore.",
    .options = kOptions,
    .variables = kVariables,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul

BACKHAUL_PLUGIN(backhaul::AgeTransform, backhaul::kInfo)
