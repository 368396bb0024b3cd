// Every value GzipTransform's create refuses, `backhaul validate` refuses too, at the value's position.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(GzipCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "compress-gzip",
         .base = "",
         .cases = {
             {"level", "-1"},
             {"level", "10"},
             {"level", "12", "", "transform[0] (compress-gzip): option 'level': must be between 0 and 9, got 12"},
             {"threads", "-1"},
             {"threads", "257"},
             {"level", "\"6\"", "", "must be an integer"},
         }});
}

}  // namespace
