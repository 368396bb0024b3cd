// PluginRegistry against the fixture plugins built next to this test (tests/loader/fixtures/).
#include "loader/plugin_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "errors.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;

const fs::path fixtures_dir = LOADER_FIXTURES_DIR;

fs::path fixture(const std::string& relative) { return fixtures_dir / relative; }

// The what() of the PluginLoadError that loading `file` throws; fails the test if nothing is thrown.
std::string load_error(const fs::path& file) {
    PluginRegistry registry;
    try {
        registry.load_file(file);
    } catch (const PluginLoadError& error) {
        return error.what();
    }
    ADD_FAILURE() << "loading " << file << " did not throw";
    return {};
}

std::vector<std::string> names_of(const PluginRegistry& registry) {
    std::vector<std::string> names;
    for (const LoadedPlugin* plugin : registry.plugins()) names.emplace_back(plugin->name());
    return names;
}

// A fresh empty directory, removed again with this object.
class ScratchDir {
  public:
    ScratchDir() : path_(fs::path(testing::TempDir()) / ("backhaul_loader_test_" + std::to_string(getpid()))) {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

TEST(loader_refusal, library_with_an_unresolvable_symbol) {
    const fs::path file = fixture("broken/undefined_symbol.so");
    EXPECT_EQ(load_error(file), file.string() + ": cannot load: undefined symbol: bh_fixture_function_defined_nowhere");
}

TEST(loader_refusal, file_that_is_not_a_shared_object) {
    const ScratchDir scratch;
    const fs::path file = scratch.path() / "text.so";
    // Longer than an ELF header, so the loader reads it as one (shorter files fail with "file too short").
    std::ofstream(file) << std::string(200, 'x');
    EXPECT_EQ(load_error(file), file.string() + ": cannot load: invalid ELF header");
}

TEST(loader_refusal, file_that_does_not_exist) {
    const fs::path file = fixture("broken/does_not_exist.so");
    EXPECT_EQ(load_error(file),
              file.string() + ": cannot load: cannot open shared object file: No such file or directory");
}

TEST(loader_refusal, library_without_entry_symbol) {
    const fs::path file = fixture("broken/no_symbol.so");
    EXPECT_EQ(load_error(file), file.string() + ": not a Backhaul plugin (no backhaul_plugin_v1 symbol)");
}

TEST(loader_refusal, entry_returning_null) {
    const fs::path file = fixture("broken/null_descriptor.so");
    EXPECT_EQ(load_error(file), file.string() + ": backhaul_plugin_v1 returned no descriptor");
}

TEST(loader_refusal, other_abi_major) {
    const fs::path file = fixture("broken/wrong_major.so");
    EXPECT_EQ(load_error(file), file.string() + ": plugin ABI 2.0 is incompatible with this backhaul (ABI 1.4)");
}

TEST(loader_refusal, newer_abi_minor) {
    const fs::path file = fixture("broken/newer_minor.so");
    EXPECT_EQ(load_error(file),
              file.string() + ": plugin needs ABI 1.7, this backhaul provides ABI 1.4; upgrade backhaul");
}

TEST(loader_refusal, descriptor_shorter_than_its_abi_version) {
    const fs::path file = fixture("broken/short_struct.so");
    EXPECT_EQ(load_error(file), file.string() + ": descriptor is 24 bytes, ABI 1.4 requires at least " +
                                    std::to_string(sizeof(bh_plugin_descriptor)));
}

TEST(loader_refusal, invalid_plugin_name) {
    const fs::path file = fixture("broken/bad_name.so");
    EXPECT_EQ(
        load_error(file),
        file.string() + ": plugin name 'Source_Bad' is not <kind>-<name> in lower-case letters, digits and dashes");
}

TEST(loader_refusal, relative_path_is_reported_absolute) {
    const fs::path relative = fs::relative(fixture("broken/no_symbol.so"), fs::current_path());
    ASSERT_TRUE(relative.is_relative());
    EXPECT_EQ(load_error(relative),
              fixture("broken/no_symbol.so").string() + ": not a Backhaul plugin (no backhaul_plugin_v1 symbol)");
}

TEST(loader_registry, loads_a_plugin_written_against_the_c_abi) {
    PluginRegistry registry;
    registry.load_file(fixture("good/minimal.so"));

    const LoadedPlugin* plugin = registry.find("source-minimal");
    ASSERT_NE(plugin, nullptr);
    EXPECT_EQ(plugin->path, fixture("good/minimal.so"));
    EXPECT_EQ(plugin->name(), "source-minimal");
    EXPECT_EQ(plugin->kind(), BH_KIND_SOURCE);
    EXPECT_EQ(kind_name(plugin->kind()), "source");
    EXPECT_EQ(plugin->version(), "1.2.3");
    EXPECT_EQ(plugin->description(), "Produces an empty stream.");
    EXPECT_THAT(plugin->variables(), testing::ElementsAre("ext"));

    ASSERT_EQ(plugin->options().size(), 3u);
    const bh_option_spec& mode = plugin->options()[1];
    EXPECT_STREQ(mode.name, "mode");
    EXPECT_EQ(mode.type, BH_OPT_ENUM);
    EXPECT_STREQ(mode.default_value, "\"fast\"");
    EXPECT_STREQ(mode.enum_values[1], "thorough");
    EXPECT_EQ(plugin->options()[0].flags, static_cast<uint32_t>(BH_OPT_REQUIRED));
    EXPECT_EQ(plugin->options()[2].flags, static_cast<uint32_t>(BH_OPT_SECRET));
    ASSERT_EQ(plugin->restore_options().size(), 1u);
    EXPECT_STREQ(plugin->restore_options()[0].name, "target_path");

    ASSERT_NE(plugin->descriptor->source, nullptr);
    size_t len = 99;
    EXPECT_EQ(plugin->descriptor->source->read(nullptr, nullptr, 0, &len), BH_END_OF_STREAM);
    EXPECT_EQ(len, 0u);
}

// Built for ABI 1.0, before BH_OPT_ARGV: a plugin of an older minor keeps loading on this host.
TEST(loader_registry, loads_a_plugin_built_for_abi_1_0) {
    PluginRegistry registry;
    registry.load_file(fixture("older/abi_1_0.so"));
    const LoadedPlugin* plugin = registry.find("source-older");
    ASSERT_NE(plugin, nullptr);
    EXPECT_EQ(plugin->descriptor->abi_minor, 0u);
    EXPECT_EQ(plugin->options().size(), 3u);
}

TEST(loader_registry, find_returns_null_for_an_unknown_name) {
    PluginRegistry registry;
    registry.load_file(fixture("good/minimal.so"));
    EXPECT_EQ(registry.find("source-other"), nullptr);
    EXPECT_EQ(registry.find("source-minima"), nullptr);
}

TEST(loader_registry, loading_the_same_library_twice_keeps_one_plugin) {
    const ScratchDir scratch;
    const fs::path link = scratch.path() / "alias.so";
    fs::create_symlink(fixture("good/minimal.so"), link);

    PluginRegistry registry;
    registry.load_file(fixture("good/minimal.so"));
    registry.load_file(fixture("good/minimal.so"));
    registry.load_file(link);
    ASSERT_EQ(registry.plugins().size(), 1u);
    EXPECT_EQ(registry.plugins()[0]->path, fixture("good/minimal.so"));
}

TEST(loader_registry, directory_loads_only_so_files_directly_inside_sorted_by_name) {
    PluginRegistry registry;
    registry.load_directory(fixture("good"));
    EXPECT_THAT(names_of(registry), testing::ElementsAre("source-another", "source-minimal"));
    EXPECT_EQ(registry.find("source-another")->path, fixture("good/other.so"));
    EXPECT_EQ(registry.find("source-minimal")->path, fixture("good/minimal.so"));
}

TEST(loader_registry, missing_directory_is_skipped) {
    PluginRegistry registry;
    EXPECT_NO_THROW(registry.load_directory(fixture("no_such_dir")));
    EXPECT_TRUE(registry.plugins().empty());
}

TEST(loader_registry, directory_path_naming_a_file_is_refused) {
    PluginRegistry registry;
    try {
        registry.load_directory(fixture("good/notes.txt"));
        ADD_FAILURE() << "no PluginLoadError";
    } catch (const PluginLoadError& error) {
        EXPECT_EQ(std::string(error.what()),
                  fixture("good/notes.txt").string() + ": plugin directory is not a directory");
    }
}

TEST(loader_registry, duplicate_in_one_directory_is_found_in_file_name_order) {
    PluginRegistry registry;
    try {
        registry.load_directory(fixture("dup_same"));
        ADD_FAILURE() << "no PluginLoadError";
    } catch (const PluginLoadError& error) {
        EXPECT_EQ(std::string(error.what()), fixture("dup_same/b_dup.so").string() +
                                                 ": plugin 'source-dup' is already loaded from " +
                                                 fixture("dup_same/a_dup.so").string());
    }
}

TEST(loader_registry, duplicate_across_directories_names_both_files) {
    PluginRegistry registry;
    registry.load_directory(fixture("dup_a"));
    try {
        registry.load_directory(fixture("dup_b"));
        ADD_FAILURE() << "no PluginLoadError";
    } catch (const PluginLoadError& error) {
        EXPECT_EQ(std::string(error.what()), fixture("dup_b/source_dup_copy.so").string() +
                                                 ": plugin 'source-dup' is already loaded from " +
                                                 fixture("dup_a/source_dup.so").string());
    }
    // The first one stays usable.
    ASSERT_NE(registry.find("source-dup"), nullptr);
    EXPECT_EQ(registry.find("source-dup")->path, fixture("dup_a/source_dup.so"));
}

TEST(loader_registry, kind_names) {
    EXPECT_EQ(kind_name(BH_KIND_SECRET), "secret");
    EXPECT_EQ(kind_name(BH_KIND_SOURCE), "source");
    EXPECT_EQ(kind_name(BH_KIND_TRANSFORM), "transform");
    EXPECT_EQ(kind_name(BH_KIND_SINK), "sink");
    EXPECT_EQ(kind_name(BH_KIND_NOTIFIER), "notifier");
    EXPECT_EQ(kind_name(42), "unknown");
}

}  // namespace
}  // namespace backhaul
