// secret-file: both formats, the ssh-like permission rule, and parse errors that give a line but never the content.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "command_runner.hpp"
#include "secret_fetch.hpp"
#include "secret_file_format.hpp"

namespace backhaul::secret_file {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr const char* kPassword = "Qx7-Distinctive-Pa55w0rd-3vN";

class SecretFileTest : public ::testing::Test {
  protected:
    std::string file(const std::string& content, mode_t mode = 0600) {
        std::filesystem::path path = tmp_ / ("secret" + std::to_string(++count_));
        testing::write_file(path, content);
        chmod(path.c_str(), mode);
        return path.string();
    }

    harness::SecretFetch fetch(const harness::OptionList& options) {
        harness::SecretFetch result = harness::fetch_secret(plugin_, options);
        EXPECT_THAT(result.error, Not(HasSubstr(kPassword)));
        EXPECT_THAT(result.log, Not(HasSubstr(kPassword)));
        return result;
    }
    std::string error_for(const std::string& content) {
        harness::SecretFetch r = fetch({{"path", file(content)}});
        EXPECT_EQ(r.status, BH_FATAL);
        return r.error;
    }

    harness::Plugin plugin_{"secret-file"};
    testing::TempDir tmp_;
    int count_ = 0;
};

TEST_F(SecretFileTest, ReadsAJsonObject) {
    harness::SecretFetch r =
        fetch({{"path", file(std::string(R"(  {"password": ")") + kPassword + R"(", "port": 15432, "user": "app"})")}});
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("password", kPassword), Pair("port", "15432"), Pair("user", "app")));
}

TEST_F(SecretFileTest, ReadsKeyValueLines) {
    std::string content = std::string("# database credentials\n\nexport DB_USER=app\n  DB_PASSWORD = ") + kPassword +
                          "  \r\nQUOTED=\"  spaced # not a comment \"\nSINGLE='a=b'\nEMPTY=\n";
    harness::SecretFetch r = fetch({{"path", file(content)}});
    ASSERT_EQ(r.status, BH_OK) << r.error;
    EXPECT_THAT(r.fields, ElementsAre(Pair("DB_PASSWORD", kPassword), Pair("DB_USER", "app"), Pair("EMPTY", ""),
                                      Pair("QUOTED", "  spaced # not a comment "), Pair("SINGLE", "a=b")));
}

TEST_F(SecretFileTest, FormatOptionOverridesDetection) {
    std::string path = file("{\"a\":\"b\"}");
    harness::SecretFetch r = fetch({{"path", path}, {"format", "env"}});
    EXPECT_EQ(r.error, "secret file '" + path + "' line 1: expected KEY=VALUE");
    harness::SecretFetch json = fetch({{"path", file("a=b\n")}, {"format", "json"}});
    EXPECT_THAT(json.error, HasSubstr("is not valid JSON: syntax error at line 1, column 1"));
}

TEST_F(SecretFileTest, RefusesAFileOthersCanRead) {
    for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
        std::string path = file("A=" + std::string(kPassword) + "\n", mode);
        harness::SecretFetch r = fetch({{"path", path}});
        EXPECT_EQ(r.status, BH_FATAL);
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        EXPECT_EQ(r.error,
                  "permissions " + std::string(octal) + " for '" + path + "' are too open; chmod 600 '" + path + "'");
    }
    EXPECT_EQ(fetch({{"path", file("A=b\n", 0400)}}).status, BH_OK);
}

TEST_F(SecretFileTest, RefusesAFileOwnedBySomeoneElse) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    std::string path = file("A=b\n");
    ASSERT_EQ(chown(path.c_str(), 4321, 4321), 0);
    // root could read it anyway; the rule is about who controls the file, as ssh's is.
    EXPECT_EQ(fetch({{"path", path}}).error,
              "secret file '" + path + "' is owned by uid 4321, not by this user (uid 0) or root");
}

TEST_F(SecretFileTest, MissingOrNonRegularFilesAreClearErrors) {
    std::string missing = (tmp_ / "nope").string();
    EXPECT_EQ(fetch({{"path", missing}}).error, "cannot open secret file '" + missing + "': No such file or directory");
    std::filesystem::create_directory(tmp_ / "dir");
    chmod((tmp_ / "dir").c_str(), 0700);
    EXPECT_EQ(fetch({{"path", (tmp_ / "dir").string()}}).error,
              "secret file '" + (tmp_ / "dir").string() + "' is not a regular file");
}

TEST_F(SecretFileTest, KeyValueErrorsNameTheLineNotTheContent) {
    std::string path = file(std::string("A=1\n# c\n") + kPassword + "\n");
    EXPECT_EQ(fetch({{"path", path}}).error, "secret file '" + path + "' line 3: expected KEY=VALUE");
    EXPECT_THAT(error_for(std::string("A=1\nbad key ") + kPassword + "=x\n"),
                HasSubstr(" line 2: the key must be letters, digits, '_', '.' or '-'"));
    EXPECT_THAT(error_for("A=1\nB=2\nA=3\n"), HasSubstr(" line 3: key 'A' repeats line 1"));
    EXPECT_THAT(error_for(std::string("P=\"") + kPassword + "\n"),
                HasSubstr(" line 1: unterminated quote in the value of 'P'"));
    EXPECT_THAT(error_for("# only a comment\n\n"), HasSubstr("' has no fields"));
}

TEST_F(SecretFileTest, JsonErrorsGiveLineAndColumnNotTheContent) {
    std::string path = file(std::string("{\n  \"a\": \"1\",\n  \"p\": \"") + kPassword + "\n}");
    EXPECT_EQ(fetch({{"path", path}}).error,
              "secret file '" + path + "' is not valid JSON: syntax error at line 3, column 37");
    EXPECT_THAT(error_for("{\"a\": [1, 2,]}"), HasSubstr("is not valid JSON: syntax error at line 1, column 13"));
    EXPECT_THAT(error_for("{}"), HasSubstr("' has no fields"));
}

TEST(SecretFileFormat, JsonThatIsNotAnObjectIsRefused) {
    EXPECT_THROW(parse_json_fields(crypto::SecretString("[1,2]")), std::runtime_error);
    try {
        parse_secret_file(crypto::SecretString("  [\"x\"]"), Format::json);
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "holds JSON but not an object of fields");
    }
}

}  // namespace
}  // namespace backhaul::secret_file
