// Parsing GetSecretValue answers: the JSON-in-JSON value, plain values, stages, and every malformed shape as one line
// that never quotes a value.
#include "secret_value_response.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "secret_manager_client.hpp"

namespace backhaul::ncloud {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::pair<std::string, std::string>> plain(const std::vector<SecretField>& fields) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const SecretField& f : fields) out.emplace_back(f.name, std::string(f.value.data(), f.value.size()));
    return out;
}

std::vector<std::pair<std::string, std::string>> parse(const std::string& body, const std::string& stage = "active") {
    return plain(secret_fields_from_response(crypto::SecretString(body.data(), body.size()), "db", stage));
}

std::string error_of(const std::string& body, const std::string& stage = "active") {
    try {
        parse(body, stage);
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::fatal);
        return e.what();
    }
    return "no error";
}

using Pair = std::pair<std::string, std::string>;

TEST(SecretValueResponse, ParsesTheDocumentedExample) {
    std::string body = R"({"code":"SUCCESS","data":{"decryptedSecretChain":{"previous":"{\"abc\":\"old\"}",
        "active":"{\"abc\":\"cba\"}","pending":"{\"abc\":\"new\"}"},"rotationTargets":["abc"]}})";
    EXPECT_THAT(parse(body), ElementsAre(Pair("abc", "cba")));
    EXPECT_THAT(parse(body, "previous"), ElementsAre(Pair("abc", "old")));
    EXPECT_THAT(parse(body, "pending"), ElementsAre(Pair("abc", "new")));
}

TEST(SecretValueResponse, KeyValueSecretGivesOneFieldPerMemberWithNonStringsAsJsonText) {
    std::string body = R"({"code":"SUCCESS","data":{"decryptedSecretChain":{"active":
        "{\"cdbPassword\":\"p\\\"w=1\",\"port\":15432,\"tls\":true,\"extra\":{\"a\":[1,2]},\"none\":null}"}}})";
    EXPECT_THAT(parse(body), ElementsAre(Pair("cdbPassword", "p\"w=1"), Pair("extra", R"({"a":[1,2]})"),
                                         Pair("none", "null"), Pair("port", "15432"), Pair("tls", "true")));
}

TEST(SecretValueResponse, NonJsonAndNonObjectValuesAreTheFieldValue) {
    EXPECT_THAT(parse(R"({"code":"SUCCESS","data":{"decryptedSecretChain":{"active":"hunter2 {not json"}}})"),
                ElementsAre(Pair("value", "hunter2 {not json")));
    EXPECT_THAT(parse(R"({"code":"SUCCESS","data":{"decryptedSecretChain":{"active":"[1,2]"}}})"),
                ElementsAre(Pair("value", "[1,2]")));
    EXPECT_THAT(parse(R"({"code":"SUCCESS","data":{"decryptedSecretChain":{"active":""}}})"),
                ElementsAre(Pair("value", "")));
}

TEST(SecretValueResponse, MissingStageNamesTheStagesThatExist) {
    std::string body = R"({"code":"SUCCESS","data":{"decryptedSecretChain":{"active":"SeCrEt-1","previous":"SeCrEt-0",
        "pending":null}}})";
    EXPECT_EQ(error_of(body, "pending"), "secret 'db' has no 'pending' value (stages present: active, previous)");
    EXPECT_EQ(error_of(R"({"code":"SUCCESS","data":{"decryptedSecretChain":{}}})"),
              "secret 'db' has no 'active' value (stages present: none)");
}

TEST(SecretValueResponse, MalformedAnswersAreOneLineWithoutTheBody) {
    EXPECT_EQ(error_of("{\"code\":\"SUCCESS\", SeCrEt"),
              "Secret Manager's answer for secret 'db' is not a JSON object (25 bytes)");
    EXPECT_EQ(error_of("[]"), "Secret Manager's answer for secret 'db' is not a JSON object (2 bytes)");
    EXPECT_EQ(error_of(R"({"data":{}})"), "Secret Manager's answer for secret 'db' has no \"code\" field");
    EXPECT_EQ(error_of(R"({"code":"FAIL","data":{"decryptedSecretChain":{"active":"SeCrEt"}}})"),
              "Secret Manager's answer for secret 'db' has code 'FAIL' instead of SUCCESS");
    EXPECT_EQ(error_of(R"({"code":"SUCCESS"})"), "Secret Manager's answer for secret 'db' has no \"data\" object");
    EXPECT_EQ(error_of(R"({"code":"SUCCESS","data":{"decryptedSecretChain":"SeCrEt"}})"),
              "Secret Manager's answer for secret 'db' has no \"data.decryptedSecretChain\" object");
}

TEST(ErrorEnvelope, ReadsNcloudsErrorEnvelope) {
    auto envelope = parse_error_envelope(R"({"error":{"errorCode":"200","message":"Authentication Failed",
        "details":"Invalid authentication information."}})");
    ASSERT_TRUE(envelope);
    EXPECT_EQ(envelope->code, "200");
    EXPECT_EQ(envelope->message, "Authentication Failed");
    EXPECT_EQ(envelope->details, "Invalid authentication information.");
    EXPECT_FALSE(parse_error_envelope("<html>bad gateway</html>"));
    EXPECT_FALSE(parse_error_envelope(R"({"code":"SUCCESS"})"));
}

TEST(ClockSkew, ComesFromTheDateHeader) {
    http::Response response;
    response.headers = {{"date", "Wed, 01 Jan 2025 00:10:00 GMT"}};
    auto local = std::chrono::system_clock::from_time_t(1735689600);  // 2025-01-01T00:00:00Z
    EXPECT_EQ(clock_skew(response, local), std::chrono::seconds(600));
    response.headers = {{"date", "yesterday"}};
    EXPECT_EQ(clock_skew(response, local), std::nullopt);
    response.headers = {};
    EXPECT_EQ(clock_skew(response, local), std::nullopt);
}

}  // namespace
}  // namespace backhaul::ncloud
