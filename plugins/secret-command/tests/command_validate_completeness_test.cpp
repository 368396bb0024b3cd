// Every value CommandSecret's create refuses, `backhaul validate` refuses too, at the value's position. What the
// command prints is a fetch-time matter.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(SecretCommandCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "secret-command",
         .base = "command = [\"pass\", \"show\", \"db\"]",
         .cases = {
             {"command", "[]", "", "secrets.tested (secret-command): option 'command': must not be empty"},
             {"command", "[\"\"]", "", "the program (first entry) is empty"},
             {"format", "\"yaml\""},
             {"field", "\"\""},
             {"field", "\"password\"", "format = \"json\"", "is only for format = \"value\""},
             {"working_dir", "\"\""},
             {"timeout", "\"0s\""},
             {"timeout", "\"2h\""},
             {"env", "[\"A\"]"},
         }});
}

}  // namespace
