# check_man_render.cmake -- the man_render test (cmake -P): doc/kidx.1
# renders with groff's man macros without a single warning (-ww: all of
# them, such as a line that cannot be adjusted or an unknown request).
# Registered only where groff is installed; the page itself needs nothing.
#
# Variables (-D): GROFF, PAGE.
execute_process(COMMAND "${GROFF}" -man -Tutf8 -ww -z "${PAGE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
  message(FATAL_ERROR "groff -man -Tutf8 -ww -z ${PAGE} (exit ${rc}):\n"
                      "${out}${err}")
endif()
message(STATUS "${PAGE} renders without warnings")
