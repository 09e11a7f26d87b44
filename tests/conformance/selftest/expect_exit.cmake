# Runs 'memvisor run ARG' and checks its exit code and what it printed.
execute_process(COMMAND ${MEMVISOR} run ${ARG}
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL EXPECT_CODE)
	message(FATAL_ERROR "exit ${rc}, want ${EXPECT_CODE}\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT_REGEX}")
	message(FATAL_ERROR "output does not match '${EXPECT_REGEX}':\n${out}${err}")
endif()
