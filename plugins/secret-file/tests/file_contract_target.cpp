// secret-file under the secret contract (sdk/testkit): the value in a JSON file of mode 0600.
#include <backhaul/testkit/process.hpp>
#include <backhaul/testkit/targets.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace {

class FileSecretTarget : public backhaul::testkit::SecretTarget {
  public:
    std::string plugin() const override { return "secret-file"; }
    backhaul::testkit::SecretSetup prepare(const std::filesystem::path& work_dir, const std::string& value) override {
        const std::filesystem::path file = work_dir / "secret.json";
        backhaul::testkit::write_file(file, nlohmann::json{{"password", value}, {"user", "kit"}}.dump());
        std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        return setup_for(file);
    }
    backhaul::testkit::SecretSetup prepare_missing(const std::filesystem::path& work_dir) override {
        return setup_for(work_dir / "no-such-secret.json");
    }

  private:
    static backhaul::testkit::SecretSetup setup_for(const std::filesystem::path& file) {
        backhaul::testkit::SecretSetup setup;
        setup.options = "path = \"" + file.string() + "\"\n";
        setup.field = "password";
        return setup;
    }
};

}  // namespace

BACKHAUL_TESTKIT_SECRET(FileSecretTarget)
