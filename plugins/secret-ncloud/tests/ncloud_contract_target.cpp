// secret-ncloud under the secret contract (sdk/testkit), against the signature-checking Secret Manager stand-in
// (tests/support/ncloud_secret_manager_server.py), one server per test holding that test's value.
#include <backhaul/testkit/targets.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "ncloud_secret_manager_fixture.hpp"

namespace {

const char* const kAccessKey = "KITACCESSKEY";
const char* const kSecretKey = "kit-signing-key";

class NcloudSecretTarget : public backhaul::testkit::SecretTarget {
  public:
    std::string plugin() const override { return "secret-ncloud"; }
    backhaul::testkit::SecretSetup prepare(const std::filesystem::path&, const std::string& value) override {
        const std::string fields = nlohmann::json{{"cdbPassword", value}, {"cdbUser", "kit"}}.dump();
        start({{"db", {{"chain", {{"active", fields}}}}}});
        return setup_for("db");
    }
    backhaul::testkit::SecretSetup prepare_missing(const std::filesystem::path&) override {
        start(nlohmann::json::object());
        return setup_for("db");
    }

  private:
    void start(const nlohmann::json& secrets) {
        server_.reset();
        const nlohmann::json config = {{"access_key", kAccessKey}, {"secret_key", kSecretKey}, {"secrets", secrets}};
        server_ = std::make_unique<backhaul::testing::NcloudSecretManagerServer>(config.dump());
    }
    backhaul::testkit::SecretSetup setup_for(const std::string& secret_id) const {
        backhaul::testkit::SecretSetup setup;
        setup.options =
            "access_key = \"${env:KIT_NCLOUD_ACCESS_KEY}\"\nsecret_key = \"${env:KIT_NCLOUD_SECRET_KEY}\"\n"
            "secret_id = \"" +
            secret_id + "\"\nendpoint = \"" + server_->endpoint() + "\"\nmax_retries = 0\n";
        setup.field = "cdbPassword";
        setup.environment = {{"KIT_NCLOUD_ACCESS_KEY", kAccessKey}, {"KIT_NCLOUD_SECRET_KEY", kSecretKey}};
        return setup;
    }

    std::unique_ptr<backhaul::testing::NcloudSecretManagerServer> server_;
};

}  // namespace

BACKHAUL_TESTKIT_SECRET(NcloudSecretTarget)
