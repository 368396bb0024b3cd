// The globals restore's CREATE ROLE rewrite: only pg_dumpall's exact `CREATE ROLE <identifier>;` lines change, and
// the streaming filter gives the same output however its input is split, with bounded buffering.
#include "create_role_filter.hpp"

#include <gtest/gtest.h>

namespace backhaul {
namespace {

TEST(CreateRoleFilter, RewritesCreateRoleIntoADoBlockIgnoringDuplicates) {
    EXPECT_EQ(idempotent_create_role("CREATE ROLE alice;"),
              "DO $bh$ BEGIN CREATE ROLE alice; EXCEPTION WHEN duplicate_object THEN NULL; END $bh$;");
    EXPECT_EQ(
        idempotent_create_role(R"(CREATE ROLE "We""ird $bh$ one";)"),
        R"(DO $bh0$ BEGIN CREATE ROLE "We""ird $bh$ one"; EXCEPTION WHEN duplicate_object THEN NULL; END $bh0$;)");
}

TEST(CreateRoleFilter, LeavesEveryOtherLineAlone) {
    for (const char* line : {"ALTER ROLE alice WITH SUPERUSER INHERIT LOGIN;", "CREATE ROLE alice",
                             "CREATE ROLE alice; DROP TABLE x;", R"(CREATE ROLE "a"; DROP "b";)", "CREATE ROLE ;",
                             "  CREATE ROLE alice;", "CREATE ROLE Alice;", "-- CREATE ROLE alice;", ""})
        EXPECT_EQ(idempotent_create_role(line), line) << line;
}

std::string filtered(std::string_view input, size_t chunk) {
    CreateRoleFilter filter;
    std::string out;
    for (size_t at = 0; at < input.size(); at += chunk) filter.feed(input.substr(at, chunk), out);
    filter.finish(out);
    return out;
}

// The restoring role keeps its password: exactly the PASSWORD clause of its own ALTER ROLE goes, nothing else.
TEST(CreateRoleFilter, LeavesOutOnlyTheRestoringRolesPassword) {
    bool stripped = false;
    EXPECT_EQ(
        without_password_of("ALTER ROLE postgres WITH SUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:a$b:c';",
                            "postgres", &stripped),
        "ALTER ROLE postgres WITH SUPERUSER INHERIT LOGIN;");
    EXPECT_TRUE(stripped);
    stripped = false;
    EXPECT_EQ(
        without_password_of(R"(ALTER ROLE "Bob ""the"" boss" WITH LOGIN PASSWORD 'md5''x' VALID UNTIL 'infinity';)",
                            "Bob \"the\" boss", &stripped),
        R"(ALTER ROLE "Bob ""the"" boss" WITH LOGIN VALID UNTIL 'infinity';)");
    EXPECT_TRUE(stripped);
    // Other roles, other statements, a look-alike name, no role: unchanged.
    stripped = false;
    for (const char* line :
         {"ALTER ROLE alice WITH LOGIN PASSWORD 'SCRAM-SHA-256$x';", "ALTER ROLE postgresx WITH LOGIN PASSWORD 'p';",
          "ALTER ROLE \"postgres \" WITH PASSWORD 'p';", "ALTER ROLE postgres SET search_path TO 'a';",
          "ALTER ROLE postgres WITH LOGIN;", "ALTER ROLE postgres WITH LOGIN PASSWORD 'unterminated;",
          "COMMENT ON ROLE postgres IS 'x';"})
        EXPECT_EQ(without_password_of(line, "postgres", &stripped), line) << line;
    EXPECT_EQ(without_password_of("ALTER ROLE postgres WITH PASSWORD 'p';", "", &stripped),
              "ALTER ROLE postgres WITH PASSWORD 'p';");
    EXPECT_FALSE(stripped);

    CreateRoleFilter filter("postgres");
    std::string out;
    filter.feed(
        "CREATE ROLE postgres;\nALTER ROLE postgres WITH SUPERUSER PASSWORD 'h';\nALTER ROLE alice WITH "
        "PASSWORD 'k';\n",
        out);
    EXPECT_EQ(out,
              "DO $bh$ BEGIN CREATE ROLE postgres; EXCEPTION WHEN duplicate_object THEN NULL; END $bh$;\n"
              "ALTER ROLE postgres WITH SUPERUSER;\nALTER ROLE alice WITH PASSWORD 'k';\n");
    EXPECT_TRUE(filter.kept_restoring_role_password());
}

TEST(CreateRoleFilter, StreamsLineByLineWhateverTheChunks) {
    const std::string input = "SET x = 1;\nCREATE ROLE bob;\nALTER ROLE bob WITH LOGIN;\nCREATE ROLE carol;";
    const std::string expected =
        "SET x = 1;\nDO $bh$ BEGIN CREATE ROLE bob; EXCEPTION WHEN duplicate_object THEN NULL; END $bh$;\n"
        "ALTER ROLE bob WITH LOGIN;\nDO $bh$ BEGIN CREATE ROLE carol; EXCEPTION WHEN duplicate_object THEN NULL; "
        "END $bh$;";
    for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, input.size()}) EXPECT_EQ(filtered(input, chunk), expected);
}

TEST(CreateRoleFilter, OverlongLinesPassThroughUnchanged) {
    // Looks like a CREATE ROLE, but too long to be one: passed on as it comes, not buffered to its end.
    const std::string huge = "CREATE ROLE " + std::string(3 * CreateRoleFilter::kMaxLine, 'a') + ";";
    const std::string input = huge + "\nCREATE ROLE dave;\n";
    EXPECT_EQ(filtered(input, 1000),
              huge + "\nDO $bh$ BEGIN CREATE ROLE dave; EXCEPTION WHEN duplicate_object THEN NULL; END $bh$;\n");
    CreateRoleFilter filter;
    std::string out;
    filter.feed(std::string(CreateRoleFilter::kMaxLine + 10, 'x'), out);
    EXPECT_EQ(out.size(), CreateRoleFilter::kMaxLine + 10);  // nothing held back
}

}  // namespace
}  // namespace backhaul
