# Compiles one include-order program against the tree's public headers and
# the built static library, as an outside VMM would, then runs it.
#
#   -DCC=compiler -DSRC=file.c -DINCLUDE_DIR=dir -DLIB=libmemvisor.a
#   -DOUT=executable -DFLAGS="-std=c11;-pedantic" -DSANITIZE=address,...
#   -DEXPECT=regex             the program's output must match
#   -DEXPECT_COMPILE_ERROR=re  instead: compiling must fail, saying this
#   -DCOMPILE_ONLY=ON          compile (as C++ too) without linking or running
#
# Warnings are errors: a redefinition the compiler only warns about is a
# coexistence failure as well.
set(san "")
if(SANITIZE)
	set(san -fsanitize=${SANITIZE})
endif()
get_filename_component(srcdir ${SRC} DIRECTORY)
set(cmd ${CC} ${FLAGS} -Wall -Wextra -Werror -I${INCLUDE_DIR} -I${srcdir} ${san})
if(COMPILE_ONLY OR EXPECT_COMPILE_ERROR)
	list(APPEND cmd -c ${SRC} -o ${OUT}.o)
else()
	list(APPEND cmd ${SRC} -o ${OUT} ${LIB} -lpthread)
endif()
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

if(EXPECT_COMPILE_ERROR)
	if(rc EQUAL 0)
		message(FATAL_ERROR "${SRC} compiled, but must not:\n${cmd}")
	endif()
	if(NOT err MATCHES "${EXPECT_COMPILE_ERROR}")
		message(FATAL_ERROR "${SRC} failed to compile, but not with '${EXPECT_COMPILE_ERROR}':\n${err}")
	endif()
	message("refused as expected: ${EXPECT_COMPILE_ERROR}")
	return()
endif()
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "${SRC} does not compile:\n${cmd}\n${err}")
endif()
if(COMPILE_ONLY)
	message("compiled: ${SRC}")
	return()
endif()

execute_process(COMMAND ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "${OUT} exited ${rc}")
endif()
if(NOT out MATCHES "${EXPECT}")
	message(FATAL_ERROR "output does not match '${EXPECT}'")
endif()
