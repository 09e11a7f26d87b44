# Installs the build into a throw-away prefix and builds examples/hello.c
# the way an outside user would: with pkg-config against the installed files.
set(prefix ${BUILD_DIR}/hello-prefix)
file(REMOVE_RECURSE ${prefix})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
	RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
file(GLOB pcdirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
list(GET pcdirs 0 pcdir)
set(ENV{PKG_CONFIG_PATH} ${pcdir})
execute_process(COMMAND pkg-config --cflags --libs --static memvisor
	OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "pkg-config does not know memvisor")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
set(san "")
if(SANITIZE)
	set(san -fsanitize=${SANITIZE})
endif()
# Link the static archive so the test does not depend on the loader path.
execute_process(COMMAND ${CC} -std=gnu11 -Wall -Wextra -Werror ${san}
		${SOURCE_DIR}/examples/hello.c -o ${BUILD_DIR}/hello
		-static-libgcc ${flags}
	RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "building hello.c failed:\n${err}")
endif()
# And the shared library with its versioned soname.
file(GLOB sonames ${prefix}/lib*/libmemvisor.so.[0-9]*)
if(NOT sonames)
	message(FATAL_ERROR "no versioned libmemvisor.so.N installed")
endif()
execute_process(COMMAND ${BUILD_DIR}/hello RESULT_VARIABLE rc
	OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "hello exited ${rc}")
endif()
