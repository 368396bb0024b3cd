// Every value ZstdTransform's create refuses, `backhaul validate` refuses too, at the value's position.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(ZstdCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "compress-zstd",
         .base = "",
         .cases = {
             {"level", "0", "", "transform[0] (compress-zstd): option 'level': must be between 1 and 19, got 0"},
             {"level", "20"},
             {"threads", "-1"},
             {"threads", "257", "", "must be between 0 and 256, got 257"},
             {"long", "-1"},
             {"long", "9", "", "option 'long': must be 0 (off) or a window log between 10 and 27, got 9"},
             {"long", "28"},
             {"level", "3.5", "", "must be an integer"},
         }});
}

}  // namespace
