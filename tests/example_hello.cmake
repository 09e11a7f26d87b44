# Installs the build into a throw-away prefix and builds examples/hello.c
# the way an outside user would: with pkg-config against the installed files.
include(${CMAKE_CURRENT_LIST_DIR}/install_prefix.cmake)
mv_install_into(hello)
file(GLOB pcdirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
list(GET pcdirs 0 pcdir)
set(ENV{PKG_CONFIG_PATH} ${pcdir})
execute_process(COMMAND pkg-config --cflags --libs memvisor
	OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "pkg-config does not know memvisor")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
set(san "")
if(SANITIZE)
	set(san -fsanitize=${SANITIZE})
endif()
# Built twice: against the shared library (found through its versioned
# soname at run time) and against the static archive.
execute_process(COMMAND pkg-config --variable=libdir memvisor
	OUTPUT_VARIABLE libdir OUTPUT_STRIP_TRAILING_WHITESPACE)
file(GLOB sonames ${libdir}/libmemvisor.so.[0-9]*)
if(NOT sonames)
	message(FATAL_ERROR "no versioned libmemvisor.so.N installed in ${libdir}")
endif()
foreach(kind shared static)
	if(kind STREQUAL "static")
		set(link ${libdir}/libmemvisor.a -lpthread)
		execute_process(COMMAND pkg-config --cflags memvisor
			OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE)
		separate_arguments(cflags UNIX_COMMAND "${cflags}")
		set(link ${cflags} ${link})
	else()
		set(link ${flags})
	endif()
	execute_process(COMMAND ${CC} -std=gnu11 -Wall -Wextra -Werror ${san}
			${SOURCE_DIR}/examples/hello.c -o ${BUILD_DIR}/hello-${kind} ${link}
		RESULT_VARIABLE rc ERROR_VARIABLE err)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "building hello.c (${kind}) failed:\n${err}")
	endif()
	set(ENV{LD_LIBRARY_PATH} ${libdir})
	execute_process(COMMAND ${BUILD_DIR}/hello-${kind} RESULT_VARIABLE rc
		OUTPUT_VARIABLE out ERROR_VARIABLE out)
	message("${kind}: ${out}")
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "hello (${kind}) exited ${rc}")
	endif()
endforeach()
