# run_install_test.cmake -- the install_consumers test (cmake -P).
#
# Installs the build tree into WORK_DIR/prefix, checks what was installed
# (files, the manual and shell completions, exported symbols, SONAME, the
# kidx binary's run path), then builds
# tests/install/consumer.c against the installed tree the ways a user would:
#   (a) pkg-config --cflags --libs kidx, linked to the shared library;
#   (b) the static library, libkidx.a;
#   (c) a CMake project using find_package(kidx) and kidx::kidx.
# Each program indexes two documents, searches them and checks the top hit.
#
# Variables (-D): SOURCE_DIR, BINARY_DIR, WORK_DIR, C_COMPILER, SANITIZE,
# MANDIR and DATADIR (CMAKE_INSTALL_MANDIR and _DATADIR, relative).
cmake_minimum_required(VERSION 3.21)

foreach(var SOURCE_DIR BINARY_DIR WORK_DIR C_COMPILER MANDIR DATADIR)
  if("${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake needs -D${var}=...")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# The library was built with the sanitizers: whatever links it must be too.
set(san_flags "")
if(SANITIZE)
  set(san_flags -fsanitize=address,undefined -fno-omit-frame-pointer)
endif()

# run_step(NAME COMMAND...): runs the command, fails the test with its
# command line and output unless it exits 0; its stdout goes to STEP_OUT.
function(run_step name)
  execute_process(COMMAND ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmdline "${ARGN}")
    message(FATAL_ERROR "install test: ${name} failed (${rc})\n"
                        "command: ${cmdline}\n"
                        "--- stdout:\n${out}\n--- stderr:\n${err}")
  endif()
  message(STATUS "${name}: ok")
  set(STEP_OUT "${out}" PARENT_SCOPE)
endfunction()

function(require_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "install test: ${path} was not installed")
  endif()
endfunction()

# ---- install ----
run_step("cmake --install" "${CMAKE_COMMAND}" --install "${BINARY_DIR}"
         --prefix "${prefix}")

# The library directory depends on GNUInstallDirs (lib, lib64 or
# lib/<multiarch>): find it from kidx.pc rather than guess.
file(GLOB_RECURSE pc_files "${prefix}/*/kidx.pc")
list(LENGTH pc_files n_pc)
if(NOT n_pc EQUAL 1)
  message(FATAL_ERROR "install test: expected one kidx.pc under ${prefix}, "
                      "found: ${pc_files}")
endif()
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
get_filename_component(libdir "${pc_dir}" DIRECTORY)

require_file("${prefix}/include/kidx.h")
require_file("${prefix}/bin/kidx")
require_file("${libdir}/libkidx.so")
require_file("${libdir}/libkidx.a")
require_file("${libdir}/cmake/kidx/kidxConfig.cmake")
require_file("${libdir}/cmake/kidx/kidxConfigVersion.cmake")

# ---- the manual and the shell completions, each where its reader looks ----
# require_copy(INSTALLED SOURCE): INSTALLED exists and is SOURCE unchanged.
function(require_copy installed source)
  require_file("${installed}")
  file(SHA256 "${installed}" got)
  file(SHA256 "${SOURCE_DIR}/${source}" want)
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "install test: ${installed} differs from ${source}")
  endif()
endfunction()
require_copy("${prefix}/${MANDIR}/man1/kidx.1" doc/kidx.1)
require_copy("${prefix}/${DATADIR}/bash-completion/completions/kidx"
             completions/kidx.bash)
require_copy("${prefix}/${DATADIR}/zsh/site-functions/_kidx" completions/_kidx)
require_copy("${prefix}/${DATADIR}/fish/vendor_completions.d/kidx.fish"
             completions/kidx.fish)

# ---- the shared library's interface: only kidx_ symbols, and a SONAME ----
find_program(NM nm)
find_program(OBJDUMP objdump)
if(NOT NM OR NOT OBJDUMP)
  message(FATAL_ERROR "install test: nm and objdump (binutils) are needed")
endif()
run_step("nm -D" "${NM}" -D --defined-only "${libdir}/libkidx.so")
string(REPLACE "\n" ";" nm_lines "${STEP_OUT}")
set(exported "")
set(stray "")
foreach(line IN LISTS nm_lines)
  # "<address> <type> <name>[@version]"
  if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) ([^@ ]+)")
    continue()
  endif()
  set(name "${CMAKE_MATCH_2}")
  # Linker-defined section markers are in every shared object.
  if(name MATCHES "^(_init|_fini|__bss_start|__bss_start__|_edata|_end|__end__|_bss_end__|__bss_end__)$")
    continue()
  endif()
  # kidx__ is the prefix of hidden internals: those must not leak either.
  if(name MATCHES "^kidx_[^_]")
    list(APPEND exported "${name}")
  else()
    list(APPEND stray "${name}")
  endif()
endforeach()
if(stray)
  message(FATAL_ERROR "install test: libkidx.so exports symbols outside "
                      "the kidx_ API: ${stray}")
endif()
foreach(sym kidx_version kidx_writer_open kidx_writer_add kidx_writer_commit
            kidx_reader_open kidx_search kidx_results_id)
  if(NOT sym IN_LIST exported)
    message(FATAL_ERROR "install test: libkidx.so does not export ${sym}")
  endif()
endforeach()
list(LENGTH exported n_exported)
message(STATUS "libkidx.so exports ${n_exported} symbols, all kidx_")

run_step("objdump -p" "${OBJDUMP}" -p "${libdir}/libkidx.so")
if(NOT STEP_OUT MATCHES "SONAME +(libkidx\\.so\\.[0-9][^ \n]*)")
  message(FATAL_ERROR "install test: libkidx.so has no SONAME of the form "
                      "libkidx.so.N:\n${STEP_OUT}")
endif()
set(soname "${CMAKE_MATCH_1}")
require_file("${libdir}/${soname}")
message(STATUS "SONAME ${soname}")

# ---- the installed kidx finds the installed library by itself ----
run_step("installed kidx --version" "${CMAKE_COMMAND}" -E env
         --unset=LD_LIBRARY_PATH "${prefix}/bin/kidx" --version)
if(NOT STEP_OUT MATCHES "^kidx [0-9]+\\.[0-9]+\\.[0-9]+\n$")
  message(FATAL_ERROR "install test: kidx --version printed '${STEP_OUT}'")
endif()
run_step("installed kidx index" "${CMAKE_COMMAND}" -E env
         --unset=LD_LIBRARY_PATH "${prefix}/bin/kidx" index
         -i "${WORK_DIR}/cli.kidx" "${SOURCE_DIR}/corpus")
run_step("installed kidx search" "${CMAKE_COMMAND}" -E env
         --unset=LD_LIBRARY_PATH "${prefix}/bin/kidx" search
         -i "${WORK_DIR}/cli.kidx" --json -k 1 transparency centre)
if(NOT STEP_OUT MATCHES "2024-kaspersky-winds-down-us-operations")
  message(FATAL_ERROR "install test: unexpected top hit: ${STEP_OUT}")
endif()

# ---- (a) pkg-config and the shared library ----
set(strict -std=c11 -Wall -Wextra -Wpedantic -Werror)
find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "install test: pkg-config is needed")
endif()
run_step("pkg-config" "${CMAKE_COMMAND}" -E env "PKG_CONFIG_PATH=${pc_dir}"
         "${PKG_CONFIG}" --cflags --libs kidx)
string(STRIP "${STEP_OUT}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run_step("build consumer (pkg-config)" "${C_COMPILER}" ${strict} ${san_flags}
         "${SOURCE_DIR}/tests/install/consumer.c" ${pc_flags}
         -o "${WORK_DIR}/consumer_pkgconfig")
run_step("ldd consumer (pkg-config)" "${CMAKE_COMMAND}" -E env
         "LD_LIBRARY_PATH=${libdir}" ldd "${WORK_DIR}/consumer_pkgconfig")
if(NOT STEP_OUT MATCHES "${soname} => ${libdir}/")
  message(FATAL_ERROR "install test: the consumer does not load the "
                      "installed ${soname}:\n${STEP_OUT}")
endif()
run_step("run consumer (pkg-config)" "${CMAKE_COMMAND}" -E env
         "LD_LIBRARY_PATH=${libdir}" "${WORK_DIR}/consumer_pkgconfig"
         "${WORK_DIR}/pkgconfig.kidx")

# ---- (a') the program shown in README.md, built the way the README says ----
file(READ "${SOURCE_DIR}/README.md" readme)
string(FIND "${readme}" "```c\n" code_start)
if(code_start LESS 0)
  message(FATAL_ERROR "install test: README.md has no ```c block")
endif()
math(EXPR code_start "${code_start} + 5")
string(SUBSTRING "${readme}" ${code_start} -1 readme_tail)
string(FIND "${readme_tail}" "```" code_len)
string(SUBSTRING "${readme_tail}" 0 ${code_len} readme_code)
file(WRITE "${WORK_DIR}/readme/demo.c" "${readme_code}")
run_step("build README example (pkg-config)" "${C_COMPILER}" ${strict}
         ${san_flags} "${WORK_DIR}/readme/demo.c" ${pc_flags}
         -o "${WORK_DIR}/readme/demo")
execute_process(COMMAND "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${libdir}"
                        "${WORK_DIR}/readme/demo"
                WORKING_DIRECTORY "${WORK_DIR}/readme"
                RESULT_VARIABLE demo_rc OUTPUT_VARIABLE demo_out
                ERROR_VARIABLE demo_err)
if(NOT demo_rc EQUAL 0 OR NOT demo_out MATCHES "^a [0-9]+\\.[0-9]+\n$")
  message(FATAL_ERROR "install test: README example failed (${demo_rc}):\n"
                      "${demo_out}${demo_err}")
endif()

# ---- (b) the static library ----
run_step("build consumer (static)" "${C_COMPILER}" ${strict} ${san_flags}
         "${SOURCE_DIR}/tests/install/consumer.c" "-I${prefix}/include"
         "${libdir}/libkidx.a" -lm -o "${WORK_DIR}/consumer_static")
run_step("run consumer (static)" "${CMAKE_COMMAND}" -E env
         --unset=LD_LIBRARY_PATH "${WORK_DIR}/consumer_static"
         "${WORK_DIR}/static.kidx")

# ---- (c) find_package(kidx) and kidx::kidx ----
set(cmake_flags "")
if(SANITIZE)
  string(REPLACE ";" " " san_string "${san_flags}")
  list(APPEND cmake_flags "-DCMAKE_C_FLAGS=${san_string}"
       "-DCMAKE_EXE_LINKER_FLAGS=${san_string}")
endif()
run_step("configure CMake consumer" "${CMAKE_COMMAND}"
         -S "${SOURCE_DIR}/tests/install/cmake_consumer"
         -B "${WORK_DIR}/cmake_consumer"
         "-DCMAKE_C_COMPILER=${C_COMPILER}"
         "-DCMAKE_PREFIX_PATH=${prefix}"
         -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
         ${cmake_flags})
# It must have found the installed package, not some other kidx.
file(STRINGS "${WORK_DIR}/cmake_consumer/CMakeCache.txt" kidx_dir_line
     REGEX "^kidx_DIR:")
if(NOT kidx_dir_line STREQUAL "kidx_DIR:PATH=${libdir}/cmake/kidx")
  message(FATAL_ERROR "install test: find_package(kidx) used "
                      "'${kidx_dir_line}', not ${libdir}/cmake/kidx")
endif()
run_step("build CMake consumer" "${CMAKE_COMMAND}" --build
         "${WORK_DIR}/cmake_consumer")
# The build tree's run path points at the installed library.
run_step("run CMake consumer" "${CMAKE_COMMAND}" -E env
         --unset=LD_LIBRARY_PATH "${WORK_DIR}/cmake_consumer/app"
         "${WORK_DIR}/cmake.kidx")

message(STATUS "install test passed")
