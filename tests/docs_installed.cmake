# Installs the build into a throw-away prefix and checks that the reader of
# the installed man page finds what it names: the pages of docs/, the C
# examples, the map and conformance scenarios, each a copy of the source
# tree's; every PREFIX/... path in the man page matches installed files;
# the installed binary runs the installed scenarios.
include(${CMAKE_CURRENT_LIST_DIR}/install_prefix.cmake)
mv_install_into(docs)
set(doc ${prefix}/share/doc/memvisor)

# Every file of these source folders, installed under DOCDIR.
function(expect_copies src_glob dest)
	file(GLOB sources ${SOURCE_DIR}/${src_glob})
	if(NOT sources)
		message(FATAL_ERROR "nothing matches ${src_glob} in the source tree")
	endif()
	foreach(f ${sources})
		get_filename_component(name ${f} NAME)
		if(NOT EXISTS ${dest}/${name})
			message(FATAL_ERROR "${name} (${src_glob}) is not installed in ${dest}")
		endif()
		file(SHA256 ${f} want)
		file(SHA256 ${dest}/${name} got)
		if(NOT want STREQUAL got)
			message(FATAL_ERROR "${dest}/${name} differs from ${f}")
		endif()
	endforeach()
endfunction()
expect_copies("docs/*.md" ${doc})
expect_copies("LICENSE" ${doc})
expect_copies("examples/*.c" ${doc}/examples)
expect_copies("examples/map/*.mvs" ${doc}/examples/map)
expect_copies("tests/conformance/*.mvs" ${doc}/examples/conformance)
expect_copies("examples/tour/*.mvs" ${prefix}/share/memvisor/tour)
if(EXISTS ${doc}/examples/conformance/selftest)
	message(FATAL_ERROR "the runner's self-tests (deliberately wrong scenarios) were installed")
endif()

# The man page's paths, as installed.
set(man ${prefix}/share/man/man1/memvisor.1)
if(NOT EXISTS ${man})
	message(FATAL_ERROR "the man page was not installed")
endif()
file(READ ${man} text)
string(REPLACE "\\-" "-" text "${text}")
string(REGEX MATCHALL "PREFIX/[^ \t\n\"\\,;)]+" paths "${text}")
list(REMOVE_DUPLICATES paths)
list(LENGTH paths n)
if(n LESS 5)
	message(FATAL_ERROR "the man page names only ${n} installed paths: ${paths}")
endif()
foreach(p ${paths})
	string(REPLACE "PREFIX/" "${prefix}/" glob "${p}")
	file(GLOB hits ${glob})
	if(NOT hits)
		message(FATAL_ERROR "the man page names ${p}, but nothing is installed there")
	endif()
endforeach()
message("the man page's ${n} installed paths exist: ${paths}")

# Its examples work on the installed files.
execute_process(COMMAND ${prefix}/bin/memvisor map -o ${BUILD_DIR}/docs-prefix-map.svg
		${doc}/examples/map/mixed-vm.mvs
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS ${BUILD_DIR}/docs-prefix-map.svg)
	message(FATAL_ERROR "memvisor map on the installed mixed-vm.mvs exited ${rc}:\n${out}${err}")
endif()
file(GLOB scenarios ${doc}/examples/conformance/*.mvs)
execute_process(COMMAND ${prefix}/bin/memvisor run --quiet ${scenarios}
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "memvisor run on the installed conformance scenarios exited ${rc}:\n${out}${err}")
endif()
