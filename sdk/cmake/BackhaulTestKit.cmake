# backhaul_add_plugin_tests(<plugin> KIND sink|transform|secret|source SOURCES target.cpp...
#                           [LIBRARIES lib...] [ONE_CASE <ctest name>] [TIMEOUT seconds] [LABELS label...])
#
# Builds <plugin>_contract, a GoogleTest program of the contract suite of KIND (sdk/README.md, "Testing a plugin")
# plus your target class (SOURCES, ending with BACKHAUL_TESTKIT_<KIND>(Class)), and registers its tests with ctest:
# one case per test, or with ONE_CASE the whole program as one case (when the target starts a slow server once for
# all of them). The tests run the `backhaul` of this SDK with BACKHAUL_PLUGIN_PATH naming the directory <plugin> is
# built into, so they test the plugin you just built. Needs GoogleTest (Debian: libgtest-dev libgmock-dev).
include_guard(GLOBAL)

function(backhaul_add_plugin_tests plugin)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "KIND;ONE_CASE;TIMEOUT" "SOURCES;LIBRARIES;LABELS")
  if(NOT arg_KIND MATCHES "^(sink|transform|secret|source)$")
    message(FATAL_ERROR "backhaul_add_plugin_tests(${plugin}): KIND must be sink, transform, secret or source")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "backhaul_add_plugin_tests(${plugin}): SOURCES (the target class) is required")
  endif()
  if(NOT TARGET ${plugin})
    message(FATAL_ERROR "backhaul_add_plugin_tests(${plugin}): no target ${plugin} (backhaul_add_plugin first)")
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 600)
  endif()
  find_package(GTest REQUIRED)
  include(GoogleTest)

  set(program ${plugin}_contract)
  add_executable(${program} ${arg_SOURCES}
    ${BACKHAUL_TESTKIT_SOURCE_DIR}/kit.cpp ${BACKHAUL_TESTKIT_SOURCE_DIR}/kit_main.cpp
    ${BACKHAUL_TESTKIT_SOURCE_DIR}/${arg_KIND}_contract.cpp)
  target_link_libraries(${program} PRIVATE Backhaul::testkit GTest::gtest GTest::gmock ${arg_LIBRARIES})
  # A plugin built into the directory this backhaul searches anyway is not named twice (it would load twice).
  set(plugin_dir $<TARGET_FILE_DIR:${plugin}>)
  if(DEFINED BACKHAUL_PLUGIN_BUILD_DIR)
    get_target_property(output_dir ${plugin} LIBRARY_OUTPUT_DIRECTORY)
    if(output_dir STREQUAL BACKHAUL_PLUGIN_BUILD_DIR)
      set(plugin_dir "")
    endif()
  endif()
  target_compile_definitions(${program} PRIVATE
    BACKHAUL_TESTKIT_BACKHAUL="${BACKHAUL_TESTKIT_BACKHAUL}"
    BACKHAUL_TESTKIT_PLUGIN_DIR="${plugin_dir}")
  add_dependencies(${program} ${plugin})
  if(TARGET backhaul)
    add_dependencies(${program} backhaul)
  endif()
  if(arg_ONE_CASE)
    add_test(NAME ${arg_ONE_CASE} COMMAND ${program})
    set_tests_properties(${arg_ONE_CASE} PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS "contract;${arg_LABELS}")
  else()
    # Every plugin runs the same test names: the plugin's name keeps them apart ("sink-local.SinkContract.…").
    gtest_discover_tests(${program} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${plugin}."
      PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS "contract;${arg_LABELS}")
  endif()
endfunction()
