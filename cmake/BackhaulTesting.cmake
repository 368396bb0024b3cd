# backhaul_add_test(<name> SOURCES ... [LIBRARIES ...] [LABELS ...]): one GoogleTest executable, each TEST a ctest case.
# Used by tests/ and by each plugin's tests/ folder.
include(GoogleTest)

function(backhaul_add_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LIBRARIES;LABELS")
  add_executable(${name} ${arg_SOURCES})
  # backhaul_core: plugin tests convert option defaults with the core's own parsers (plugin_harness.hpp).
  target_link_libraries(${name} PRIVATE GTest::gtest_main GTest::gmock Threads::Threads Backhaul::sdk backhaul_core
    ${CMAKE_DL_LIBS} ${arg_LIBRARIES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_compile_definitions(${name} PRIVATE
    BACKHAUL_BINARY="$<TARGET_FILE:backhaul>"
    BACKHAUL_PLUGIN_BUILD_DIR="${BACKHAUL_PLUGIN_BUILD_DIR}"
    BACKHAUL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # Tests run the real binary and load the real plugins: build them first.
  add_dependencies(${name} backhaul)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS "${arg_LABELS}")
endfunction()
