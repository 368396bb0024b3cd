// secret-ncloud: the fields of one NCloud Secret Manager secret, fetched once per run with a signed GetSecretValue.
#include <backhaul/sdk.hpp>
#include <string>

#include "secret_manager_client.hpp"
#include "secret_value_response.hpp"

namespace backhaul::ncloud {
namespace {

constexpr const char* kStageValues[] = {"active", "previous", "pending", nullptr};

constexpr bh_option_spec kOptions[] = {
    {"access_key", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr,
     "API access key ID (main account or Sub Account), usually \"${env:NCLOUD_ACCESS_KEY}\"."},
    {"secret_key", BH_OPT_STRING, BH_OPT_REQUIRED | BH_OPT_SECRET, nullptr, nullptr,
     "API secret key that signs each request, usually \"${env:NCLOUD_SECRET_KEY}\"."},
    {"secret_id", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "ID of the secret in Secret Manager."},
    {"endpoint", BH_OPT_STRING, 0, "\"https://secretmanager.apigw.ntruss.com\"", nullptr,
     "Secret Manager base URL; override for gov/fin regions or a private endpoint."},
    {"stage", BH_OPT_ENUM, 0, "\"active\"", kStageValues,
     "Which value of the rotation chain to read: active, previous or pending."},
    {"timeout", BH_OPT_DURATION, 0, "\"30s\"", nullptr, "Longest time one request may take."},
    {"max_retries", BH_OPT_INT, 0, "3", nullptr,
     "Retries after a transport error or a 5xx answer (0 to 10), with exponential backoff."},
    {"ca_file", BH_OPT_STRING, 0, nullptr, nullptr, "PEM file of CA certificates to trust instead of the system's."},
    {"insecure_http", BH_OPT_BOOL, 0, "false", nullptr,
     "Allow a plain http:// endpoint that is not on loopback (the secret would travel in clear)."},
};

constexpr bh_option_limits kLimits[] = {
    {"access_key", BH_LIMIT_MIN, 1, 0},
    {"secret_key", BH_LIMIT_MIN, 1, 0},
    {"secret_id", BH_LIMIT_MIN, 1, 0},
    {"timeout", BH_LIMIT_MIN, 1, 0},
    {"max_retries", BH_LIMIT_MIN | BH_LIMIT_MAX, 0, 10},
    {"ca_file", BH_LIMIT_MIN, 1, 0},
};

class NcloudSecret : public SecretProvider {
  public:
    NcloudSecret(Host host, const Options& options)
        : host_(host), config_(SecretManagerConfig::from_options(options)) {}
    static void validate(const Options& options, Problems& problems) {
        SecretManagerConfig::validate(options, problems);
    }

    void fetch(const FieldSink& emit) override {
        SecretManagerClient client(config_, host_);
        crypto::SecretString body = client.get_secret_value();
        std::vector<SecretField> fields = secret_fields_from_response(body, config_.secret_id, config_.stage);
        std::string names;
        for (const SecretField& field : fields) {
            emit(field.name, std::string_view(field.value.data(), field.value.size()));
            names += (names.empty() ? "" : ", ") + field.name;
        }
        host_.info("secret '" + config_.secret_id + "' (" + config_.stage + "): fields " + names);
    }

  private:
    Host host_;
    SecretManagerConfig config_;
};

constexpr PluginInfo kInfo{
    .name = "secret-ncloud",
    .version = "0.1.0",
    .description = "Fields of a NAVER Cloud Secret Manager secret (API gateway signature v2)",
    .options = kOptions,
    .limits = kLimits,
};

}  // namespace
}  // namespace backhaul::ncloud

BACKHAUL_PLUGIN(backhaul::ncloud::NcloudSecret, backhaul::ncloud::kInfo);
