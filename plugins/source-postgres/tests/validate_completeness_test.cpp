// Every option value source-postgres's create refuses, `backhaul validate` refuses too, at the value's position. The
// base is empty: every connection option may be left to libpq, and create connects to nothing.
#include "validate_completeness.hpp"

#include <gtest/gtest.h>

namespace {

TEST(PostgresCompleteness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "source-postgres",
         .base = "",
         .cases = {
             {"port", "0", "", "source (source-postgres): option 'port': must be between 1 and 65535, got 0"},
             {"port", "65536"},
             {"port", "-1"},
             {"port", "\"5432\"", "", "must be an integer"},
             {"database", "\"\""},
             {"pg_dump", "\"\""},
             {"connect_timeout", "\"0s\""},
             {"sslmode", "\"strict\""},
             {"format", "\"directory\""},
             {"extra_args", "[\"--jobs=4\"]", "",
              "option 'extra_args': '--jobs=4' is not allowed: parallel dumps need the directory format"},
             {"extra_args", "[\"-f\", \"out.sql\"]", "", "pg_dump must write to standard output"},
             {"extra_args", "[\"--host=elsewhere\"]"},
             {"extra_args", "[\"otherdb\"]"},
             {"extra_args", "[\"--encoding\"]", "", "needs a value"},
             {"extra_args", "[\"-af\"]"},
             {"schemas", "\"public\"", "", "must be"},
         }});
}

}  // namespace
