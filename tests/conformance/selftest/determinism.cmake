# Runs SCENARIO twice with the same seed and checks that the two traces are
# byte for byte the same, and that 'memvisor trace' summarises one.
foreach(i 1 2)
	execute_process(COMMAND ${MEMVISOR} run --quiet --seed 7 --trace ${OUT}.${i}.jsonl ${SCENARIO}
		RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "run ${i} failed: ${rc}")
	endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}.1.jsonl ${OUT}.2.jsonl
	RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "same scenario and seed gave different traces")
endif()
execute_process(COMMAND ${MEMVISOR} trace --json ${OUT}.1.jsonl
	RESULT_VARIABLE rc OUTPUT_VARIABLE summary)
if(NOT rc EQUAL 0 OR NOT summary MATCHES "\"step\":")
	message(FATAL_ERROR "memvisor trace: ${rc}: ${summary}")
endif()
