# Installs the built loglin into a scratch prefix, then builds and runs a
# program outside the source tree that finds it with find_package(loglin).
# Called by ctest with SOURCE_DIR, BUILD_DIR, WORK_DIR and GENERATOR set.
file(REMOVE_RECURSE "${WORK_DIR}")
function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${step} failed (${rc})\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run("install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
run("configure" ${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/install/outside_program" -B "${WORK_DIR}/build"
    -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
run("build" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("run" "${WORK_DIR}/build/outside_program")
if(NOT last_output MATCHES "outside program ok")
  message(FATAL_ERROR "install test: unexpected output\n${last_output}")
endif()
message(STATUS "${last_output}")
