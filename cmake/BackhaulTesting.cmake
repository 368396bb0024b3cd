# backhaul_add_test(<name> SOURCES ... [LIBRARIES ...] [LABELS ...] [ONE_CASE <ctest name>] [TIMEOUT s] [COST n]):
# one GoogleTest executable; each TEST is a ctest case, or with ONE_CASE the whole executable is one case (for suites
# that share a slow server across tests). COST: ctest starts costlier cases first; on a fresh checkout (no timing
# history) that keeps a long case from starting last and running alone. Used by tests/ and each plugin's tests/.
include(GoogleTest)

# Test code is compiled with -Og in the optimized builds: the code under test (core, plugins) keeps -O2, and -O2 on
# GoogleMock-heavy test files was three quarters of their compile time for no gain. The precompiled header and the
# tests that reuse it must agree on the level.
function(backhaul_test_optimization target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:RelWithDebInfo,Release,MinSizeRel>:-Og>)
endfunction()

# One precompiled header shared by every test executable: parsing GoogleMock, GoogleTest and the standard headers
# the tests use took seconds per test file, a large share of the suite's build. Created on first use, after the core.
function(backhaul_test_precompiled_header)
  if(TARGET backhaul_test_pch)
    return()
  endif()
  add_library(backhaul_test_pch STATIC ${PROJECT_SOURCE_DIR}/tests/support/precompiled_header.cpp)
  target_link_libraries(backhaul_test_pch PRIVATE GTest::gtest GTest::gmock Threads::Threads Backhaul::sdk Backhaul::testkit
    backhaul_core)
  backhaul_test_optimization(backhaul_test_pch)
  target_precompile_headers(backhaul_test_pch PRIVATE <gmock/gmock.h> <gtest/gtest.h> <nlohmann/json.hpp>
    <algorithm> <chrono> <filesystem> <fstream> <map> <optional> <sstream> <string> <thread> <vector>)
endfunction()

function(backhaul_add_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "ONE_CASE;TIMEOUT;COST" "SOURCES;LIBRARIES;LABELS")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  if(NOT arg_COST)
    set(arg_COST 0)
  endif()
  add_executable(${name} ${arg_SOURCES})
  backhaul_test_precompiled_header()
  backhaul_test_optimization(${name})
  target_precompile_headers(${name} REUSE_FROM backhaul_test_pch)
  # backhaul_core: plugin tests convert option defaults with the core's own parsers (plugin_harness.hpp).
  target_link_libraries(${name} PRIVATE GTest::gtest_main GTest::gmock Threads::Threads Backhaul::sdk Backhaul::testkit
    backhaul_core
    ${CMAKE_DL_LIBS} ${arg_LIBRARIES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_compile_definitions(${name} PRIVATE
    BACKHAUL_BINARY="$<TARGET_FILE:backhaul>"
    BACKHAUL_PLUGIN_BUILD_DIR="${BACKHAUL_PLUGIN_BUILD_DIR}"
    BACKHAUL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # Tests run the real binary and load the real plugins: build them first.
  add_dependencies(${name} backhaul)
  if(arg_ONE_CASE)
    add_test(NAME ${arg_ONE_CASE} COMMAND ${name})
    set_tests_properties(${arg_ONE_CASE} PROPERTIES LABELS "${arg_LABELS}" TIMEOUT ${arg_TIMEOUT} COST ${arg_COST})
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
      PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS "${arg_LABELS}" COST ${arg_COST})
  endif()
endfunction()

# backhaul_add_completeness_test(<plugin> <source>): the plugin's case list for tests/support/validate_completeness.hpp
# (every value its create refuses is refused by `backhaul validate` at the value's position). The harness puts the
# plugin into a pipeline whose other stages are source-command and sink-local.
function(backhaul_add_completeness_test plugin source)
  backhaul_add_test(${plugin}_completeness_test SOURCES ${source} LABELS plugin)
  add_dependencies(${plugin}_completeness_test ${plugin} source-command sink-local)
endfunction()
