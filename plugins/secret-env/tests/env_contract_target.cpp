// secret-env under the secret contract (sdk/testkit): the value is in backhaul's environment.
#include <backhaul/testkit/targets.hpp>

namespace {

class EnvSecretTarget : public backhaul::testkit::SecretTarget {
  public:
    std::string plugin() const override { return "secret-env"; }
    backhaul::testkit::SecretSetup prepare(const std::filesystem::path&, const std::string& value) override {
        backhaul::testkit::SecretSetup setup;
        setup.options = "fields = { password = \"KIT_ENV_SECRET\" }\n";
        setup.field = "password";
        setup.environment = {{"KIT_ENV_SECRET", value}};
        return setup;
    }
    backhaul::testkit::SecretSetup prepare_missing(const std::filesystem::path&) override {
        backhaul::testkit::SecretSetup setup;
        setup.options = "fields = { password = \"KIT_ENV_SECRET_THAT_IS_NOT_SET\" }\n";
        setup.field = "password";
        return setup;
    }
};

}  // namespace

BACKHAUL_TESTKIT_SECRET(EnvSecretTarget)
