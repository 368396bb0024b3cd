# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS, cmake/Packaging.cmake): turns each staged component tree into what
# Debian expects of a package, as debhelper would (dh_installdocs, dh_installchangelogs, dh_compress):
# - usr/share/doc/<package>/copyright: the license in Debian's format; the verbatim LICENSE that `cmake --install`
#   puts there goes (lintian: extra-license-file; Debian keeps the Apache text once, in /usr/share/common-licenses);
# - usr/share/doc/<package>/changelog.gz: a Debian changelog entry for this version (the version has no Debian
#   revision: the packaging lives in the upstream tree, so the package is native);
# - man pages compressed with gzip -9n (no name, no time stamp: reproducible);
# - static archives (the plugin support library) without their debug sections, as dh_strip leaves them: CPack's
#   CPACK_STRIP_FILES strips executables and plugins only, and the debug info is most of the archive's size.
# CPACK_BACKHAUL_* come from cmake/Packaging.cmake; SOURCE_DATE_EPOCH (scripts/package) dates the changelog.
cmake_minimum_required(VERSION 3.25)

string(TIMESTAMP changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)

foreach(component IN LISTS CPACK_COMPONENTS_ALL)
  set(tree ${CPACK_TEMPORARY_DIRECTORY}/${component}${CPACK_PACKAGING_INSTALL_PREFIX})
  if(NOT IS_DIRECTORY ${tree})
    continue()
  endif()
  string(TOUPPER ${component} upper)
  set(package ${CPACK_DEBIAN_${upper}_PACKAGE_NAME})
  set(doc ${tree}/${CPACK_BACKHAUL_DOC_DIR}/${package})

  file(MAKE_DIRECTORY ${doc})
  file(REMOVE ${doc}/LICENSE)
  file(COPY_FILE ${CPACK_BACKHAUL_SOURCE_DIR}/packaging/copyright ${doc}/copyright)
  file(WRITE ${doc}/changelog
    "${package} (${CPACK_PACKAGE_VERSION}) unstable; urgency=medium\n\n"
    "  * Backhaul ${CPACK_PACKAGE_VERSION}, packaged from its source tree by scripts/package.\n\n"
    " -- ${CPACK_PACKAGE_CONTACT}  ${changelog_date}\n")

  file(GLOB_RECURSE man_pages ${tree}/${CPACK_BACKHAUL_MAN_DIR}/*)
  foreach(file IN ITEMS ${doc}/changelog LISTS man_pages)
    if(file MATCHES "\\.gz$")
      continue()
    endif()
    execute_process(COMMAND gzip -9nf ${file} COMMAND_ERROR_IS_FATAL ANY)
  endforeach()

  file(GLOB_RECURSE archives ${tree}/*.a)
  foreach(archive IN LISTS archives)
    execute_process(COMMAND ${CPACK_BACKHAUL_STRIP} --strip-debug --remove-section=.comment --remove-section=.note
      --enable-deterministic-archives ${archive} COMMAND_ERROR_IS_FATAL ANY)
  endforeach()
endforeach()
