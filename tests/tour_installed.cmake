# Installs the build into a throw-away prefix and runs the installed
# 'memvisor tour': it must find its chapters under PREFIX/share/memvisor/tour,
# not in the source tree, and pass.
set(prefix ${BUILD_DIR}/tour-prefix)
file(REMOVE_RECURSE ${prefix})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
	RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
file(GLOB chapters ${prefix}/share/memvisor/tour/*.mvs)
if(NOT chapters)
	message(FATAL_ERROR "no tour chapters installed in ${prefix}/share/memvisor/tour")
endif()
execute_process(COMMAND ${prefix}/bin/memvisor tour
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "installed memvisor tour exited ${rc}:\n${out}${err}")
endif()
if(NOT out MATCHES "${prefix}/share/memvisor/tour")
	message(FATAL_ERROR "installed memvisor tour did not use the installed chapters:\n${out}")
endif()
if(NOT EXISTS ${prefix}/share/man/man1/memvisor.1)
	message(FATAL_ERROR "the man page was not installed")
endif()
