# Installs the build into a throw-away prefix and builds examples/EXAMPLE.c
# the way an outside user would: with pkg-config against the installed
# files, once against the shared library and once against the static
# archive. Each build runs and its output must match every regex in
# EXPECT (a ;-list).
#
#   -DBUILD_DIR=... -DSOURCE_DIR=... -DCC=... -DSANITIZE=... -DEXAMPLE=guest
#   "-DEXPECT=regex;regex..."
include(${CMAKE_CURRENT_LIST_DIR}/install_prefix.cmake)
mv_install_into(${EXAMPLE})
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
execute_process(COMMAND pkg-config --cflags memvisor
	OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "pkg-config does not know memvisor")
endif()
execute_process(COMMAND pkg-config --libs memvisor
	OUTPUT_VARIABLE libs OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND pkg-config --variable=libdir memvisor
	OUTPUT_VARIABLE libdir OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(cflags UNIX_COMMAND "${cflags}")
separate_arguments(libs UNIX_COMMAND "${libs}")
set(san "")
if(SANITIZE)
	set(san -fsanitize=${SANITIZE})
endif()
# The example is taken from the installed documentation, as a reader would.
set(src ${prefix}/share/doc/memvisor/examples/${EXAMPLE}.c)
if(NOT EXISTS ${src})
	message(FATAL_ERROR "${EXAMPLE}.c is not installed in ${prefix}/share/doc/memvisor/examples")
endif()
foreach(kind shared static)
	if(kind STREQUAL "static")
		set(link ${cflags} ${libdir}/libmemvisor.a -lpthread)
	else()
		set(link ${cflags} ${libs})
	endif()
	set(exe ${BUILD_DIR}/${EXAMPLE}-${kind})
	execute_process(COMMAND ${CC} -std=gnu11 -Wall -Wextra -Werror ${san} ${src} -o ${exe} ${link}
		RESULT_VARIABLE rc ERROR_VARIABLE err)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "building ${EXAMPLE}.c (${kind}) failed:\n${err}")
	endif()
	set(ENV{LD_LIBRARY_PATH} ${libdir})
	execute_process(COMMAND ${exe} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
	message("${kind}:\n${out}${err}")
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "${EXAMPLE} (${kind}) exited ${rc}")
	endif()
	foreach(re ${EXPECT})
		if(NOT out MATCHES "${re}")
			message(FATAL_ERROR "${EXAMPLE} (${kind}): no line matches '${re}'")
		endif()
	endforeach()
endforeach()
