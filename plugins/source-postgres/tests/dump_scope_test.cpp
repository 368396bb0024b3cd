// pg_dump's name patterns as regular expressions, and when a dump includes large objects; what the patterns select
// on a real server is tested in postgres_source_test.cpp.
#include "dump_scope.hpp"

#include <gtest/gtest.h>

namespace backhaul {
namespace {

TEST(NamePattern, FollowsPgDumpsRules) {
    NamePattern plain = translate_pattern("Orders");
    EXPECT_FALSE(plain.schema);
    EXPECT_EQ(plain.name, "^(orders)$");  // unquoted letters fold to lower case
    NamePattern qualified = translate_pattern("sales.audit_*");
    EXPECT_EQ(qualified.schema, "^(sales)$");
    EXPECT_EQ(qualified.name, "^(audit_.*)$");
    NamePattern quoted = translate_pattern("\"Mixed Case\".\"Order.Items*\"");
    EXPECT_EQ(quoted.schema, "^(Mixed Case)$");
    EXPECT_EQ(quoted.name, "^(Order\\.Items\\*)$");                 // quoted: literal, case kept
    EXPECT_EQ(translate_pattern("t?_[0-9]").name, "^(t._[0-9])$");  // regex syntax outside quotes is the user's
    EXPECT_EQ(translate_pattern("a$b").name, "^(a\\$b)$");
    EXPECT_EQ(translate_pattern("\"say \"\"hi\"\"\"").name, "^(say \"hi\")$");
    NamePattern three = translate_pattern("db.s.t");  // database.schema.name
    EXPECT_EQ(three.schema, "^(s)$");
    EXPECT_EQ(three.name, "^(t)$");
}

TEST(NamePattern, LargeObjectsOnlyForAWholeDatabaseUnlessExtraArgsSay) {
    DumpSelection whole;
    EXPECT_TRUE(dumps_large_objects(whole));
    DumpSelection some = whole;
    some.tables = {"orders"};
    EXPECT_FALSE(dumps_large_objects(some));
    some.extra_args = {"--blobs"};
    EXPECT_TRUE(dumps_large_objects(some));
    whole.extra_args = {"-B"};
    EXPECT_FALSE(dumps_large_objects(whole));
    whole.extra_args = {"--schema-only"};
    EXPECT_FALSE(dumps_large_objects(whole));
}

}  // namespace
}  // namespace backhaul
