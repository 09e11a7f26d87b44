# Installs the build into a throw-away prefix and runs the installed
# 'memvisor tour': it must find its chapters under PREFIX/share/memvisor/tour,
# not in the source tree, and pass.
include(${CMAKE_CURRENT_LIST_DIR}/install_prefix.cmake)
mv_install_into(tour)
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
