// encrypt-age under the transform contract (sdk/testkit): each test gets its own X25519 identity from the age CLI's
// age-keygen, and the age CLI is the independent decoder.
#include <backhaul/testkit/process.hpp>
#include <backhaul/testkit/targets.hpp>
#include <stdexcept>

namespace {

class AgeTarget : public backhaul::testkit::TransformTarget {
  public:
    std::string plugin() const override { return "encrypt-age"; }
    backhaul::testkit::TransformSetup prepare(const std::filesystem::path& work_dir) override {
        const std::filesystem::path identity = work_dir / "identity.txt";
        backhaul::testkit::CommandResult keygen = backhaul::testkit::run_command({"age-keygen", "-o", identity});
        if (keygen.exit_code != 0) throw std::runtime_error("age-keygen failed: " + keygen.err);
        backhaul::testkit::CommandResult recipient = backhaul::testkit::run_command({"age-keygen", "-y", identity});
        if (recipient.exit_code != 0) throw std::runtime_error("age-keygen -y failed: " + recipient.err);
        std::string age1 = recipient.out.substr(0, recipient.out.find('\n'));
        backhaul::testkit::TransformSetup setup;
        setup.options = "recipients = [\"" + age1 + "\"]\nidentity_file = \"" + identity.string() + "\"\n";
        setup.independent_decoder = {"age", "-d", "-i", identity.string()};
        return setup;
    }
};

}  // namespace

BACKHAUL_TESTKIT_TRANSFORM(AgeTarget)
