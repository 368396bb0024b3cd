# What a system install holds beyond the binaries (service units, the system user, the pipeline directory, docs and
# examples), and the two Debian packages CPack makes of it (scripts/package; docs/packaging.md):
#   backhaul      component `runtime` (every install rule without a COMPONENT): the binary, plugins, units, docs
#   backhaul-dev  component `dev`: the SDK headers, the plugin support library, the CMake package, the example
#                 out-of-tree plugin
# Paths follow the install prefix, so `cmake --install` into a prefix (tests/e2e/install_test.sh) gets the same tree.

# ---- the system install ----------------------------------------------------------------------------------------------
# systemd looks in <prefix>/lib/systemd/system for /usr and /usr/local alike; the units run `backhaul` as the user of
# the sysusers.d file (the package's postinst creates it from that file).
install(FILES examples/systemd/backhaul@.service examples/systemd/backhaul@.timer
  DESTINATION lib/systemd/system)
install(FILES packaging/backhaul.sysusers DESTINATION lib/sysusers.d RENAME backhaul.conf)
# Pipelines live in <sysconfdir>/backhaul (/etc/backhaul for the /usr prefix). Only the directory: a package that
# shipped a pipeline there would own an administrator's file.
# GNUInstallDirs maps "etc" to /etc only in the FULL_ variable (prefix /usr); elsewhere the relative path keeps
# `cmake --install --prefix DIR` inside DIR.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  install(DIRECTORY DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/backhaul)
else()
  install(DIRECTORY DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/backhaul)
endif()
# The documentation keeps the source tree's layout under share/doc/<package>/, so its relative links still work:
# README.md -> docs/*.md -> ../examples/...
set(BACKHAUL_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/backhaul)
install(DIRECTORY docs/ DESTINATION ${BACKHAUL_DOC_DIR}/docs FILES_MATCHING PATTERN "*.md")
# The out-of-tree plugin examples are for plugin authors: they go with the SDK (backhaul-dev), where sdk/README.md's
# links find them.
install(DIRECTORY examples/ DESTINATION ${BACKHAUL_DOC_DIR}/examples
  PATTERN plugin-source-random EXCLUDE PATTERN plugin-sink-sftp EXCLUDE)
install(FILES sdk/README.md DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/backhaul-dev/sdk COMPONENT dev)
install(DIRECTORY examples/plugin-source-random examples/plugin-sink-sftp
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/backhaul-dev/examples COMPONENT dev)

# ---- the Debian packages ---------------------------------------------------------------------------------------------
set(BACKHAUL_PACKAGE_MAINTAINER "Backhaul maintainers <maintainers@users.noreply.r-seed-129e6628.example>"
  CACHE STRING "The Maintainer field of the Debian packages")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME backhaul)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${BACKHAUL_PACKAGE_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# An absolute destination (/etc/backhaul) goes into the staging tree, never onto the packaging machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
# <name>_<version>_<arch>.deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends come from the binaries themselves (dpkg-shlibdeps), never from a hand-kept list.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# backhaul-dev Depends on exactly this backhaul: its CMake package names this installation's plugin directory.
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_COMPONENT_DEV_DEPENDS runtime)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME backhaul)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION admin)
# systemd-sysusers creates the user from the sysusers.d file: systemd's own on a systemd machine, the standalone one
# (260 kB, no systemd) in a container. The standalone one comes first so that apt picks it where neither is installed.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "systemd-standalone-sysusers | systemd")
# source-postgres runs pg_dump and pg_restore.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS postgresql-client)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/postinst
  ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "plugin-based backup runner
Backhaul runs backup pipelines described in TOML files: a source (a command,
PostgreSQL), transforms (gzip, zstd, age encryption), a sink (a local
directory, S3-compatible object storage) and notifiers. Every backup is
committed atomically with a manifest, and can be listed, verified, restored
and pruned by a retention policy.
.
This package holds the backhaul command, its first-party plugins, systemd
units for scheduled runs and the backhaul system user they run as.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME backhaul-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The CMake package finds what the static Backhaul::plugin_support links (sdk/cmake/BackhaulConfig.cmake.in), so a
# plugin build needs their development files; dpkg-shlibdeps sees no shared object here to compute them from.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libssl-dev, libcurl4-openssl-dev | libcurl-dev, nlohmann-json3-dev")
# The contract test kit (backhaul_add_plugin_tests) compiles against GoogleTest; only plugin tests need it.
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "libgtest-dev, libgmock-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION "plugin SDK for the Backhaul backup runner
Backhaul runs backup pipelines of plugins loaded at run time. This package
holds the plugin SDK: the C ABI header, the header-only C++20 wrapper, the
static plugin support library (HTTP client, retry policy, SigV4 signing,
child processes, digests and encodings) that the first-party plugins use
too, the contract test kit (the test suites every plugin of a kind must
pass, run through the installed backhaul), and the CMake package
(find_package(Backhaul), backhaul_add_plugin(), backhaul_add_plugin_tests())
whose install step puts a plugin into the directory the installed backhaul
searches.")

# After CPack staged each package's files and before it builds the .deb: what debhelper would do (compressed man
# pages, copyright and changelog in every package's doc directory); packaging/debianize.cmake.
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/debianize.cmake)
set(CPACK_BACKHAUL_SOURCE_DIR ${PROJECT_SOURCE_DIR})
set(CPACK_BACKHAUL_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc)
set(CPACK_BACKHAUL_MAN_DIR ${CMAKE_INSTALL_MANDIR})
set(CPACK_BACKHAUL_STRIP ${CMAKE_STRIP})

include(CPack)
