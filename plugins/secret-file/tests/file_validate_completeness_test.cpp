// Every value FileSecret's create refuses, `backhaul validate` refuses too, at the value's position. The file itself
// (missing, too open, malformed) is read only when a run fetches the secret.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(SecretFileCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "secret-file",
         .base = "path = \"@TMP@/secret.json\"",
         .cases = {
             {"path", "\"\"", "", "secrets.tested (secret-file): option 'path': must not be empty"},
             {"format", "\"yaml\"", "", "must be one of auto, json, env; got 'yaml'"},
             {"path", "[\"a\"]"},
         }});
}

}  // namespace
