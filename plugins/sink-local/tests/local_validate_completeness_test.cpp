// Every value LocalSink's create refuses, `backhaul validate` refuses too, at the value's position. That the directory
// exists is a run-time matter.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(SinkLocalCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "sink-local",
         .base = "path = \"@TMP@/sink\"",
         .cases = {
             {"path", "\"\"", "", "sink (sink-local): option 'path': must not be empty"},
             {"fsync", "\"yes\""},
         }});
}

}  // namespace
