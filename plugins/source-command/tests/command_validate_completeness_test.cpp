// Every value CommandSource's create refuses, `backhaul validate` refuses too, at the value's position. Whether the
// program exists is a run-time matter.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(SourceCommandCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "source-command",
         .base = "command = [\"true\"]",
         .cases = {
             {"command", "[]", "", "source (source-command): option 'command': must not be empty"},
             {"command", "[\"\", \"-c\"]", "", "option 'command': the program (first entry) is empty"},
             {"command", "\"true\""},
             {"restore_command", "[]"},
             {"restore_command", "[\"\"]"},
             {"working_dir", "\"\""},
             {"env", "{ A = 1 }"},
         }});
}

}  // namespace
