// Every value EnvSecret's create refuses, `backhaul validate` refuses too, at the value's position. Whether the
// variables are set is a fetch-time matter.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(SecretEnvCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "secret-env",
         .base = "fields = { password = \"BH_COMPLETENESS_PASSWORD\" }",
         .cases = {
             {"fields", "{}", "", "secrets.tested (secret-env): option 'fields': must not be empty"},
             {"fields", "{ password = \"DB-PASSWORD\" }", "", "'DB-PASSWORD' is not an environment variable name"},
             {"fields", "{ password = \"1ABC\" }"},
             {"fields", "{ password = \"\" }"},
             {"fields", "{ \"\" = \"PASSWORD\" }", "", "option 'fields': has an empty field name"},
             {"allow_empty", "\"yes\""},
         }});
}

}  // namespace
