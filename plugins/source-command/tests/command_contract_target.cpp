// source-command under the source contract (sdk/testkit): a script writes a known text; failing, it writes part of
// it and exits 1.
#include <gtest/gtest.h>

#include <backhaul/testkit/process.hpp>
#include <backhaul/testkit/targets.hpp>
#include <filesystem>

namespace {

const std::string kText = "first line\nsecond line, with \"quotes\" and \xc3\xbc\n";

class CommandSourceTarget : public backhaul::testkit::SourceTarget {
  public:
    std::string plugin() const override { return "source-command"; }
    backhaul::testkit::SourceSetup prepare(const std::filesystem::path& work_dir) override {
        backhaul::testkit::write_file(work_dir / "data.txt", kText);
        backhaul::testkit::SourceSetup setup;
        setup.options = "command = [\"cat\", \"" + (work_dir / "data.txt").string() + "\"]\n";
        return setup;
    }
    void check_backup(const std::filesystem::path&, const std::string& backup) override { EXPECT_EQ(backup, kText); }
    std::optional<backhaul::testkit::SourceSetup> prepare_failing(const std::filesystem::path&) override {
        backhaul::testkit::SourceSetup setup;
        setup.options = "command = [\"sh\", \"-c\", \"echo part of a dump; exit 1\"]\n";
        return setup;
    }
};

}  // namespace

BACKHAUL_TESTKIT_SOURCE(CommandSourceTarget)
