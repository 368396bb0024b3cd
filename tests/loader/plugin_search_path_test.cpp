#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>

#include "loader/plugin_registry.hpp"

namespace backhaul {
namespace {

namespace fs = std::filesystem;

// Sets BACKHAUL_PLUGIN_PATH (or unsets it, for std::nullopt) for one test and restores it afterwards.
class ScopedPluginPathEnv {
  public:
    explicit ScopedPluginPathEnv(const std::optional<std::string>& value) {
        if (const char* old = getenv("BACKHAUL_PLUGIN_PATH")) previous_ = old;
        if (value) {
            setenv("BACKHAUL_PLUGIN_PATH", value->c_str(), 1);
        } else {
            unsetenv("BACKHAUL_PLUGIN_PATH");
        }
    }
    ~ScopedPluginPathEnv() {
        if (previous_) {
            setenv("BACKHAUL_PLUGIN_PATH", previous_->c_str(), 1);
        } else {
            unsetenv("BACKHAUL_PLUGIN_PATH");
        }
    }

  private:
    std::optional<std::string> previous_;
};

// The test executable lives in <build>/bin like `backhaul`, so its install plugin dir is the build's plugin dir.
fs::path install_plugin_dir() { return fs::weakly_canonical(BACKHAUL_PLUGIN_BUILD_DIR); }

TEST(loader_search_path, install_dir_then_environment_then_pipeline) {
    const ScopedPluginPathEnv env(std::string("/opt/a::/opt/b/:"));
    EXPECT_THAT(plugin_search_path({"plugins", "/srv/plugins", "../shared/plugins"}, "/etc/backhaul/pipelines"),
                testing::ElementsAre(install_plugin_dir(), fs::path("/opt/a"), fs::path("/opt/b/"),
                                     fs::path("/etc/backhaul/pipelines/plugins"), fs::path("/srv/plugins"),
                                     fs::path("/etc/backhaul/shared/plugins")));
}

TEST(loader_search_path, install_dir_is_next_to_the_executable) {
    const ScopedPluginPathEnv env(std::nullopt);
    EXPECT_THAT(plugin_search_path({}, "/etc"), testing::ElementsAre(install_plugin_dir()));
}

TEST(loader_search_path, empty_environment_variable_adds_nothing) {
    const ScopedPluginPathEnv env(std::string(""));
    EXPECT_THAT(plugin_search_path({"p"}, "/etc"), testing::ElementsAre(install_plugin_dir(), fs::path("/etc/p")));
}

TEST(loader_search_path, relative_entries_become_absolute) {
    const ScopedPluginPathEnv env(std::string("env_relative"));
    EXPECT_THAT(plugin_search_path({"pipeline_relative"}, "pipelines"),
                testing::ElementsAre(install_plugin_dir(), fs::current_path() / "env_relative",
                                     fs::current_path() / "pipelines/pipeline_relative"));
}

}  // namespace
}  // namespace backhaul
