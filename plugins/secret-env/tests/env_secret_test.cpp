// secret-env: each field from its variable; a missing or empty variable is named, its value never printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "secret_fetch.hpp"

namespace backhaul::harness {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

SecretFetch fetch(const OptionList& options) {
    static Plugin plugin("secret-env");
    return fetch_secret(plugin, options);
}

class SecretEnvTest : public ::testing::Test {
  protected:
    void SetUp() override {
        setenv("BH_TEST_DB_PASSWORD", "p@ss word=1", 1);
        setenv("BH_TEST_DB_USER", "app", 1);
        setenv("BH_TEST_EMPTY", "", 1);
        unsetenv("BH_TEST_UNSET");
    }
};

TEST_F(SecretEnvTest, EachFieldComesFromItsVariable) {
    SecretFetch r = fetch({{"fields", Table{{"password", "BH_TEST_DB_PASSWORD"}, {"user", "BH_TEST_DB_USER"}}}});
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("password", "p@ss word=1"), Pair("user", "app")));
}

TEST_F(SecretEnvTest, UnsetVariableIsNamed) {
    SecretFetch r = fetch({{"fields", Table{{"password", "BH_TEST_DB_PASSWORD"}, {"token", "BH_TEST_UNSET"}}}});
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(r.error, "environment variable BH_TEST_UNSET (field 'token') is not set");
}

TEST_F(SecretEnvTest, EmptyVariableIsAnErrorUnlessAllowed) {
    SecretFetch r = fetch({{"fields", Table{{"token", "BH_TEST_EMPTY"}}}});
    EXPECT_EQ(r.status, BH_FATAL);
    EXPECT_EQ(r.error,
              "environment variable BH_TEST_EMPTY (field 'token') is empty; set allow_empty = true if that is "
              "intended");
    SecretFetch allowed = fetch({{"fields", Table{{"token", "BH_TEST_EMPTY"}}}, {"allow_empty", true}});
    ASSERT_EQ(allowed.status, BH_OK) << allowed.error;
    EXPECT_THAT(allowed.fields, ElementsAre(Pair("token", "")));
}

// An empty `fields` is refused by the host (a limit): env_validate_completeness_test.cpp.
TEST_F(SecretEnvTest, BadOptionsAreRefusedAtCreate) {
    SecretFetch bad = fetch({{"fields", Table{{"password", "DB-PASSWORD"}}}});
    EXPECT_EQ(bad.status, BH_INVALID_CONFIG);
    EXPECT_EQ(bad.error,
              "option 'fields': field 'password': 'DB-PASSWORD' is not an environment variable name (letters, "
              "digits, '_', not starting with a digit)");
    EXPECT_EQ(fetch({{"fields", Table{{"password", "1ABC"}}}}).status, BH_INVALID_CONFIG);
}

}  // namespace
}  // namespace backhaul::harness
