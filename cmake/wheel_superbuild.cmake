# Incremental wheel builds: `pip install .` twice should not compile twice.
#
# pip builds in an isolated environment with a new temporary path each time, and scikit-build-core,
# on seeing itself at a new path, deletes the build directory's CMakeCache.txt and CMakeFiles/,
# where CMake keeps every object file: every `pip install .` recompiled all of fastmlp (~26 s on
# 2 cores; `build-dir` alone kept nothing). So under scikit-build-core this file configures an
# inner build of the same CMakeLists.txt in <build-dir>/core, which scikit-build-core leaves alone,
# builds it with the same generator (Ninja: only what changed is recompiled) and installs its
# files into the wheel. The inner build's compile commands must not mention the isolated
# environment either, or every object would count as changed: pybind11's headers are used from a
# copy (CMakeLists.txt, FASTMLP_PYBIND11_COPY), the rest (compiler, flags, Python's headers) does
# not live there.
#
# The inner build starts from scratch when the toolchain changes: generator, CMake version,
# C++ compiler or its flags (from the environment or -D), Python ABI, or any FASTMLP_* option or
# CMAKE_CXX_* setting given with -D (given or not, and its value). Only the settings matched below
# reach the inner build; others (CMAKE_TOOLCHAIN_FILE, CMAKE_C_*, linker flags) do not.

set(FASTMLP_INNER_DIR "${CMAKE_BINARY_DIR}/core")

# Settings forwarded to the inner build on every configure: scikit-build-core's (Python, the
# prefix path where the isolated pybind11 lies, build type), the user's FASTMLP_* options and C++
# settings (-D / CMAKE_ARGS), and the make program (when pip installs ninja, it too lies in the
# isolated environment).
set(init "")
# The settings that change what is compiled (fastmlp's options, C++ flags, build type), as given
# this time: part of the toolchain key below, so that an option given last time and left out now
# (FASTMLP_SANITIZE=ON, say) is not kept by the inner build's cache.
set(compile_settings "")
get_cmake_property(cache_vars CACHE_VARIABLES)
foreach(var IN LISTS cache_vars)
  if(var MATCHES "^(FASTMLP_|Python_|Python3_|PYTHON_|CMAKE_CXX_|CMAKE_BUILD_TYPE$|CMAKE_PREFIX_PATH$|CMAKE_MAKE_PROGRAM$|CMAKE_FIND_ROOT_PATH_MODE_PACKAGE$|CMAKE_OSX_|CMAKE_EXPORT_COMPILE_COMMANDS$|CMAKE_INTERPROCEDURAL_OPTIMIZATION$)"
     AND NOT var STREQUAL "FASTMLP_INNER_BUILD")
    get_property(type CACHE "${var}" PROPERTY TYPE)
    if(type STREQUAL "INTERNAL" OR type STREQUAL "STATIC")
      continue()
    elseif(type STREQUAL "UNINITIALIZED")  # given as -DNAME=value, without a type
      set(type STRING)
    endif()
    string(APPEND init "set(${var} [==[${${var}}]==] CACHE ${type} \"\" FORCE)\n")
    if(var MATCHES "^(FASTMLP_|CMAKE_CXX_|CMAKE_BUILD_TYPE$|CMAKE_INTERPROCEDURAL_OPTIMIZATION$)")
      string(APPEND compile_settings "|${var}=${${var}}")
    endif()
  endif()
endforeach()
string(APPEND init "set(FASTMLP_INNER_BUILD ON CACHE BOOL \"\" FORCE)\n")
# Look for pybind11 again: the last build's environment is gone.
string(APPEND init "set(pybind11_DIR pybind11_DIR-NOTFOUND CACHE PATH \"\" FORCE)\n")
file(WRITE "${CMAKE_BINARY_DIR}/core-init.cmake" "${init}")

set(toolchain "generator=${CMAKE_GENERATOR}|cmake=${CMAKE_VERSION}|CXX=$ENV{CXX}|CXXFLAGS=$ENV{CXXFLAGS}|LDFLAGS=$ENV{LDFLAGS}|compiler=${CMAKE_CXX_COMPILER}|flags=${CMAKE_CXX_FLAGS}|abi=${SKBUILD_SOABI}${compile_settings}")
set(toolchain_file "${CMAKE_BINARY_DIR}/core-toolchain.txt")
if(EXISTS "${toolchain_file}")
  file(READ "${toolchain_file}" previous)
else()
  set(previous "")
endif()
if(NOT previous STREQUAL toolchain)
  if(EXISTS "${FASTMLP_INNER_DIR}")
    message(STATUS "fastmlp: the toolchain changed, rebuilding from scratch in ${FASTMLP_INNER_DIR}")
  endif()
  file(REMOVE_RECURSE "${FASTMLP_INNER_DIR}")
  file(WRITE "${toolchain_file}" "${toolchain}")
endif()

set(generator_args -G "${CMAKE_GENERATOR}")
if(CMAKE_GENERATOR_PLATFORM)
  list(APPEND generator_args -A "${CMAKE_GENERATOR_PLATFORM}")
endif()
if(CMAKE_GENERATOR_TOOLSET)
  list(APPEND generator_args -T "${CMAKE_GENERATOR_TOOLSET}")
endif()
add_custom_target(fastmlp_inner_build ALL
  COMMAND "${CMAKE_COMMAND}" -C "${CMAKE_BINARY_DIR}/core-init.cmake" ${generator_args}
          -S "${CMAKE_SOURCE_DIR}" -B "${FASTMLP_INNER_DIR}"
  COMMAND "${CMAKE_COMMAND}" --build "${FASTMLP_INNER_DIR}" --config "${CMAKE_BUILD_TYPE}"
  USES_TERMINAL
  VERBATIM)

# scikit-build-core installs this (outer) build into the wheel: install the inner one there, with
# the same prefix, configuration and stripping.
install(CODE "
  set(strip_arg \"\")
  if(CMAKE_INSTALL_DO_STRIP)
    set(strip_arg --strip)
  endif()
  execute_process(COMMAND \"${CMAKE_COMMAND}\" --install \"${FASTMLP_INNER_DIR}\" --prefix \"\${CMAKE_INSTALL_PREFIX}\"
                          --config \"${CMAKE_BUILD_TYPE}\" \${strip_arg}
                  RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR \"installing the inner build ${FASTMLP_INNER_DIR} failed\")
  endif()
")
