// Choosing pg_dump, psql and pg_restore, against fake installations in a temp dir.
#include "client_tools.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <backhaul/sdk.hpp>

#include "command_runner.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// <root>/<major>/bin/<tool>, a script that reports `version` like the real one.
fs::path fake_client(const fs::path& root, const std::string& major, const std::string& tool,
                     const std::string& version) {
    fs::create_directories(root / major / "bin");
    fs::path path = root / major / "bin" / tool;
    testing::write_file(path, "#!/bin/sh\necho '" + tool + " (PostgreSQL) " + version + "'\n");
    ::chmod(path.c_str(), 0755);
    return path;
}

std::string failure(const std::function<void()>& body) {
    try {
        body();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(PgVersion, ParsesClientOutput) {
    auto v = PgVersion::parse_version_output("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->number, 150018);
    EXPECT_EQ(v->text(), "15.18");
    EXPECT_EQ(v->major(), 1500);
    auto old = PgVersion::parse_version_output("pg_dump (PostgreSQL) 9.6.24\n");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->number, 90624);
    EXPECT_EQ(old->text(), "9.6.24");
    EXPECT_EQ(old->major_text(), "9.6");
    EXPECT_LT(old->major(), PgVersion{100000}.major());
    auto beta = PgVersion::parse_version_output("pg_dump (PostgreSQL) 17beta1");
    ASSERT_TRUE(beta);
    EXPECT_EQ(beta->number, 170000);
    EXPECT_FALSE(PgVersion::parse_version_output("usage: pg_dump [OPTION]..."));
}

TEST(SelectPgDump, PicksTheNewestInstalledMajor) {
    TempDir root;
    fake_client(root.path(), "13", "pg_dump", "13.4");
    fs::path newest = fake_client(root.path(), "16", "pg_dump", "16.2");
    fake_client(root.path(), "9.6", "pg_dump", "9.6.24");
    ClientTool tool = select_pg_dump(PgVersion{150018}, std::nullopt, root.path());
    EXPECT_EQ(tool.path, newest.string());
    EXPECT_EQ(tool.version.text(), "16.2");
}

TEST(SelectPgDump, ConfiguredOneOlderThanTheServerNamesBothVersions) {
    TempDir root;
    fs::path old = fake_client(root.path(), "12", "pg_dump", "12.17");
    EXPECT_EQ(failure([&] { select_pg_dump(PgVersion{160002}, old.string(), root.path()); }),
              "pg_dump 12.17 (" + old.string() +
                  ") is older than the server (PostgreSQL 16.2) and cannot dump it: install postgresql-client-16 or "
                  "newer (https://www.postgresql.org/download/), or set option 'pg_dump' to a pg_dump of version 16 "
                  "or newer");
}

TEST(SelectPgDump, SameMajorWithOlderMinorIsFine) {
    TempDir root;
    fs::path tool = fake_client(root.path(), "15", "pg_dump", "15.2");
    EXPECT_EQ(select_pg_dump(PgVersion{150018}, tool.string(), root.path()).path, tool.string());
}

TEST(SelectPgDump, NothingNewEnoughAnywhere) {
    TempDir root;
    fake_client(root.path(), "11", "pg_dump", "11.22");
    // PATH has no pg_dump newer than 99 either.
    std::string message = failure([&] { select_pg_dump(PgVersion{990001}, std::nullopt, root.path()); });
    EXPECT_TRUE(message.find("is older than the server (PostgreSQL 99.1) and cannot dump it: install "
                             "postgresql-client-99 or newer") != std::string::npos)
        << message;
}

TEST(SelectPgDump, UnrunnableConfiguredPgDump) {
    EXPECT_EQ(failure([] { select_pg_dump(PgVersion{150000}, std::string("/nonexistent/pg_dump")); }),
              "cannot start command '/nonexistent/pg_dump': No such file or directory");
}

TEST(LocateClient, NextToTheConfiguredPgDumpElseNewestElsePath) {
    TempDir root;
    fake_client(root.path(), "14", "psql", "14.1");
    fs::path newest = fake_client(root.path(), "15", "psql", "15.1");
    EXPECT_EQ(locate_client("psql", std::string("/opt/pg/bin/pg_dump"), root.path()), "/opt/pg/bin/psql");
    EXPECT_EQ(locate_client("psql", std::string("pg_dump"), root.path()), "psql");
    EXPECT_EQ(locate_client("psql", std::nullopt, root.path()), newest.string());
    EXPECT_EQ(locate_client("pg_restore", std::nullopt, root.path()), "pg_restore");
}

}  // namespace
}  // namespace backhaul
