// Keys as remote paths, without a server: what the sink refuses before it sends anything (the core refuses some of
// these keys itself, so the end-to-end tests cannot reach the plugin's own check).
#include "../src/remote_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <backhaul/sdk.hpp>

namespace backhaul::sftp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string refusal(const std::string& key) {
    try {
        parse_key(key);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(RemoteKeyTest, SplitsDirectoriesAndFileName) {
    RemoteKey key = parse_key("2025/05/db.sql.gz");
    EXPECT_THAT(key.directories, ElementsAre("2025", "05"));
    EXPECT_EQ(key.file_name, "db.sql.gz");
    EXPECT_EQ(parse_key("a..b/.c").file_name, ".c");
}

TEST(RemoteKeyTest, RefusesKeysThatLeaveTheDirectory) {
    for (const std::string key : {"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", ".", ".."})
        EXPECT_THAT(refusal(key), HasSubstr("escapes the sink directory")) << key;
}

TEST(RemoteKeyTest, TemporaryNamesAreNeverKeysAndAlwaysDiffer) {
    const std::string temp = temp_file_name("backup.bin");
    EXPECT_THAT(temp, ::testing::MatchesRegex("\\.backup\\.bin\\.backhaul-tmp-[0-9a-f]{16}"));
    EXPECT_TRUE(is_temp_file_name(temp));
    EXPECT_FALSE(is_temp_file_name("backup.bin"));
    EXPECT_NE(temp, temp_file_name("backup.bin"));
    EXPECT_THAT(refusal("dir/" + temp), HasSubstr("reserved for temporary upload files"));
}

TEST(RemoteKeyTest, JoinsPathsWithOneSlash) {
    EXPECT_EQ(join_path("/srv/b", "x"), "/srv/b/x");
    EXPECT_EQ(join_path("/srv/b/", "x"), "/srv/b/x");
    EXPECT_EQ(join_path("/", "x"), "/x");
    EXPECT_EQ(join_path("/srv", {"a", "b", "c"}, 2), "/srv/a/b");
}

}  // namespace
}  // namespace backhaul::sftp
