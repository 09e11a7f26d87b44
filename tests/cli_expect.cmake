# Runs memvisor with ARGS ('|'-separated; empty for none) and checks the
# exit code (EXPECT_CODE), that stdout matches EXPECT_STDOUT and stderr
# EXPECT_STDERR (regular expressions; unset: anything), and with MAX_WIDTH
# that no line of stdout is wider than that many columns. SCENARIO_FILE and
# SCENARIO_TEXT: first write the text to that file (a scenario made up for
# the test, which ARGS may name).
if(DEFINED SCENARIO_FILE)
	file(WRITE ${SCENARIO_FILE} "${SCENARIO_TEXT}")
endif()
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${MEMVISOR} ${args}
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(what "memvisor ${args}")
if(NOT rc STREQUAL EXPECT_CODE)
	message(FATAL_ERROR "${what}: exit ${rc}, want ${EXPECT_CODE}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
	message(FATAL_ERROR "${what}: stdout does not match '${EXPECT_STDOUT}':\n${out}")
endif()
if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
	message(FATAL_ERROR "${what}: stderr does not match '${EXPECT_STDERR}':\n${err}")
endif()
if(MAX_WIDTH)
	string(REPLACE ";" "\\;" out "${out}")
	string(REPLACE "\n" ";" lines "${out}")
	foreach(line IN LISTS lines)
		string(LENGTH "${line}" len)
		if(len GREATER MAX_WIDTH)
			message(FATAL_ERROR "${what}: a line of ${len} columns (at most ${MAX_WIDTH}):\n${line}")
		endif()
	endforeach()
endif()
