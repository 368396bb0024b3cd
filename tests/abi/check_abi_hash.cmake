# cmake -DHEADER=<plugin_abi.h> -DRECORD=<plugin_abi.h.sha256> -P check_abi_hash.cmake
#
# Fails when plugin_abi.h changed but BH_ABI_MAJOR/BH_ABI_MINOR did not: every change to the contract must be a
# deliberate version decision. RECORD holds one line "<major>.<minor> <sha256 of HEADER>".

# message(FATAL_ERROR) re-wraps long text; the reason is printed as one unwrapped line first.
# Arguments are concatenated one by one because ${ARGV} would split them at their semicolons.
function(fail)
  set(reason "")
  math(EXPR last "${ARGC} - 1")
  foreach(i RANGE ${last})
    string(APPEND reason "${ARGV${i}}")
  endforeach()
  message(NOTICE "${reason}")
  message(FATAL_ERROR "ABI header check failed")
endfunction()

foreach(var HEADER RECORD)
  if(NOT DEFINED ${var})
    fail("check_abi_hash.cmake: -D${var}=... is required")
  endif()
endforeach()

file(SHA256 "${HEADER}" actual_hash)
file(STRINGS "${HEADER}" major_line REGEX "^#define BH_ABI_MAJOR [0-9]+$")
file(STRINGS "${HEADER}" minor_line REGEX "^#define BH_ABI_MINOR [0-9]+$")
if(NOT major_line OR NOT minor_line)
  fail("${HEADER}: no '#define BH_ABI_MAJOR <n>' and '#define BH_ABI_MINOR <n>' lines")
endif()
string(REGEX REPLACE "^#define BH_ABI_MAJOR " "" major "${major_line}")
string(REGEX REPLACE "^#define BH_ABI_MINOR " "" minor "${minor_line}")
set(actual_version "${major}.${minor}")

file(STRINGS "${RECORD}" record LIMIT_COUNT 1)
if(NOT record MATCHES "^([0-9]+\\.[0-9]+) ([0-9a-f]+)$")
  fail("${RECORD}: expected one line '<major>.<minor> <sha256>', got '${record}'")
endif()
set(recorded_version "${CMAKE_MATCH_1}")
set(recorded_hash "${CMAKE_MATCH_2}")

if(actual_hash STREQUAL recorded_hash AND actual_version STREQUAL recorded_version)
  return()
endif()
if(actual_version STREQUAL recorded_version)
  fail("plugin_abi.h changed without bumping BH_ABI_MINOR/BH_ABI_MAJOR; "
       "update tests/abi/plugin_abi.h.sha256 together with the version")
endif()
fail("plugin_abi.h is ABI ${actual_version} but tests/abi/plugin_abi.h.sha256 records ABI "
     "${recorded_version}; write '${actual_version} ${actual_hash}' into it")
