#include "config/interpolation.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "config_test_support.hpp"

namespace backhaul {
namespace {

using testing::config_error;
using testing::FakeResolver;

const SourcePosition where{"p.toml", 7, 12};

class Interpolation : public ::testing::Test {
  protected:
    Interpolation() {
        resolver.environment = {{"HOST", "db.local"}, {"EMPTY", ""}};
        resolver.secrets = {{"db", {{"password", "s3cret"}, {"user", "app"}}}};
    }

    InterpolatedString expand(std::string_view text) {
        return interpolate(text, resolver, where, "source: option 'command'");
    }
    std::string error_of(std::string_view text) {
        return config_error([&] { expand(text); });
    }

    FakeResolver resolver;
};

TEST_F(Interpolation, LiteralTextIsUnchanged) {
    const InterpolatedString result = expand("pg_dump -h localhost $HOME costs $5 {x}");
    EXPECT_EQ(result.value, "pg_dump -h localhost $HOME costs $5 {x}");
    EXPECT_FALSE(result.contains_secret);
    EXPECT_FALSE(result.has_references);
}

TEST_F(Interpolation, SubstitutesEnvironment) {
    const InterpolatedString result = expand("postgres://${env:HOST}:5432/${env:EMPTY}x");
    EXPECT_EQ(result.value, "postgres://db.local:5432/x");
    EXPECT_FALSE(result.contains_secret);
    EXPECT_TRUE(result.has_references);
}

TEST_F(Interpolation, SubstitutesSecretsAndMarksThem) {
    const InterpolatedString result = expand("${secret:db.user}:${secret:db.password}@${env:HOST}");
    EXPECT_EQ(result.value, "app:s3cret@db.local");
    EXPECT_TRUE(result.contains_secret);
    EXPECT_FALSE(result.has_placeholder);
}

TEST_F(Interpolation, ValidateModeUsesPlaceholder) {
    resolver.fetched = false;
    const InterpolatedString result = expand("pw=${secret:db.password}");
    EXPECT_EQ(result.value, "pw=<secret:db.password>");
    EXPECT_TRUE(result.contains_secret);
    EXPECT_TRUE(result.has_placeholder);
}

TEST_F(Interpolation, DoubleDollarEscapesReference) {
    EXPECT_EQ(expand("echo $${HOME} $${env:HOST} ${env:HOST}").value, "echo ${HOME} ${env:HOST} db.local");
    EXPECT_FALSE(expand("$${env:NOPE}").has_references);
    EXPECT_EQ(expand("$$x").value, "$$x");
}

TEST_F(Interpolation, ResolverErrorsPropagate) { EXPECT_THROW(expand("${secret:db.token}"), std::runtime_error); }

TEST_F(Interpolation, Errors) {
    EXPECT_EQ(config_error([&] { interpolate("${env:DB_PASS}", resolver, where, "source: option 'password'"); }),
              "p.toml:7:12: source: option 'password': undefined environment variable 'DB_PASS'");
    EXPECT_EQ(error_of("${secret:vault.password}"),
              "p.toml:7:12: source: option 'command': reference to undefined secret 'vault' (define [secrets.vault])");
    EXPECT_EQ(error_of("a ${foo} b"),
              "p.toml:7:12: source: option 'command': unknown reference '${foo}' (expected ${env:NAME} or "
              "${secret:ID.FIELD})");
    EXPECT_EQ(error_of("x ${env:HOST"),
              "p.toml:7:12: source: option 'command': unterminated reference '${env:HOST' (missing '}'; write '$${' "
              "for a literal '${')");
    EXPECT_EQ(error_of("${env:}"), "p.toml:7:12: source: option 'command': empty variable name in '${env:}'");
    EXPECT_EQ(error_of("${env:A-B}"),
              "p.toml:7:12: source: option 'command': invalid environment variable name in '${env:A-B}'");
    EXPECT_EQ(error_of("${secret:}"), "p.toml:7:12: source: option 'command': empty secret name in '${secret:}'");
    EXPECT_EQ(error_of("${secret:db}"),
              "p.toml:7:12: source: option 'command': secret reference '${secret:db}' needs a field: "
              "${secret:ID.FIELD}");
    EXPECT_EQ(error_of("${secret:db.}"),
              "p.toml:7:12: source: option 'command': secret reference '${secret:db.}' needs a field: "
              "${secret:ID.FIELD}");
    EXPECT_EQ(error_of("${secret:d b.x}"),
              "p.toml:7:12: source: option 'command': invalid secret reference '${secret:d b.x}'");
    EXPECT_EQ(error_of("${}"),
              "p.toml:7:12: source: option 'command': unknown reference '${}' (expected ${env:NAME} or "
              "${secret:ID.FIELD})");
}

TEST(ProcessEnvResolver, ReadsProcessEnvironmentAndKnowsSecretIds) {
    ::setenv("BACKHAUL_CONFIG_TEST_VAR", "value-1", 1);
    ::unsetenv("BACKHAUL_CONFIG_TEST_UNSET");
    const ProcessEnvResolver resolver({"db"});
    EXPECT_EQ(resolver.env("BACKHAUL_CONFIG_TEST_VAR"), "value-1");
    EXPECT_EQ(resolver.env("BACKHAUL_CONFIG_TEST_UNSET"), std::nullopt);
    EXPECT_TRUE(resolver.has_secret("db"));
    EXPECT_FALSE(resolver.has_secret("aws"));
    EXPECT_EQ(resolver.secret("db", "password"), std::nullopt);
    EXPECT_EQ(interpolate("${env:BACKHAUL_CONFIG_TEST_VAR}/${secret:db.password}", resolver, where, "x").value,
              "value-1/<secret:db.password>");
}

}  // namespace
}  // namespace backhaul
