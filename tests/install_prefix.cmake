# Included by the install checks: mv_install_into(NAME) installs the build
# (BUILD_DIR) into a fresh throw-away prefix BUILD_DIR/NAME-prefix and sets
# `prefix` to it in the caller's scope.
function(mv_install_into name)
	set(p ${BUILD_DIR}/${name}-prefix)
	file(REMOVE_RECURSE ${p})
	execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${p}
		RESULT_VARIABLE rc OUTPUT_QUIET)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "cmake --install failed: ${rc}")
	endif()
	set(prefix ${p} PARENT_SCOPE)
endfunction()
