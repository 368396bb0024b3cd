# backhaul_add_plugin(<kind>-<name> SOURCES src... [LIBRARIES lib...])
#
# Builds a Backhaul plugin: a MODULE library named exactly <kind>-<name>.so, linked against Backhaul::sdk, with hidden
# visibility plus a linker version script (only the backhaul_plugin_v1 entry point is exported: hidden visibility alone
# still exports the libstdc++ template instances a plugin uses, some as GNU unique symbols that bind across libraries)
# and -z defs (an unresolved symbol fails the link instead of failing dlopen at run time). Installs into the plugin
# directory of the Backhaul found by find_package(Backhaul) (BACKHAUL_INSTALLED_PLUGIN_DIR), or into
# BACKHAUL_PLUGIN_INSTALL_DIR when that is set (a relative path is under CMAKE_INSTALL_PREFIX).
include_guard(GLOBAL)
include(GNUInstallDirs)

function(backhaul_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LIBRARIES")
  if(NOT name MATCHES "^(secret|source|transform|compress|encrypt|sink|notify)-[a-z0-9][a-z0-9-]*$")
    message(FATAL_ERROR "backhaul_add_plugin: '${name}' is not <kind>-<name> (lower case, digits and dashes)")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "backhaul_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE Backhaul::sdk ${arg_LIBRARIES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  set(exports ${CMAKE_CURRENT_BINARY_DIR}/${name}.exports)
  file(CONFIGURE OUTPUT ${exports} CONTENT "{\n  global: backhaul_plugin_v1;\n  local: *;\n};\n")
  target_link_options(${name} PRIVATE "LINKER:--version-script=${exports}")
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${exports})
  # Sanitizer runtimes resolve symbols from the executable, which -z defs cannot see.
  if(NOT BACKHAUL_SANITIZE)
    target_link_options(${name} PRIVATE "LINKER:-z,defs")
  endif()
  if(DEFINED BACKHAUL_PLUGIN_BUILD_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${BACKHAUL_PLUGIN_BUILD_DIR})
  endif()
  # In the Backhaul build the top level defines the directory the core searches. Out of tree it is the cache variable
  # BACKHAUL_PLUGIN_INSTALL_DIR when set, else the plugin directory of the Backhaul that find_package() found: an
  # absolute path, so that `cmake --install` puts the plugin where that `backhaul` looks, whatever the install prefix.
  if(BACKHAUL_PLUGIN_INSTALL_DIR)
    set(destination ${BACKHAUL_PLUGIN_INSTALL_DIR})
  elseif(DEFINED BACKHAUL_INSTALLED_PLUGIN_DIR)
    set(destination ${BACKHAUL_INSTALLED_PLUGIN_DIR})
  else()
    set(destination ${CMAKE_INSTALL_LIBDIR}/backhaul/plugins)
  endif()
  install(TARGETS ${name} LIBRARY DESTINATION ${destination})
endfunction()
