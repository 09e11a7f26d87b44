#!/usr/bin/env bash
# One command from a fresh Debian 12 clone to a result:
#   scripts/bootstrap.sh tour   install what is missing, build, run the tour
#   scripts/bootstrap.sh test   install what is missing, build, run every test:
#                               the plain build, then ASan+UBSan, then TSan,
#                               then a fixed-seed replay of the fuzzers
# Installing packages needs root (it uses sudo when not root).
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-tour}
jobs=$(nproc 2>/dev/null || echo 2)

need_pkgs=()
pkgs=(cmake ninja-build gcc libcmocka-dev pkg-config)
[[ $mode == test ]] && pkgs+=(clang libclang-rt-14-dev libxml2-utils groff-base)
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
	echo "== installing: ${need_pkgs[*]} (needs root)"
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${need_pkgs[@]}"
fi

build() { # build DIR [cmake args...]
	local dir=$1
	shift
	cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
	ninja -C "$dir"
}

case "$mode" in
tour)
	build build
	./build/memvisor --version
	./build/memvisor tour
	;;
test)
	build build
	echo "== tests (plain build)"
	ctest --test-dir build --output-on-failure -j "$jobs"
	echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	build build-asan -DMEMVISOR_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build-asan --output-on-failure -j "$jobs"
	echo "== concurrency tests under ThreadSanitizer"
	build build-tsan -DMEMVISOR_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
	# TSan needs a fixed-layout address space on kernels with many mmap
	# random bits; setarch -R turns randomisation off for the test run only.
	TSAN_OPTIONS=halt_on_error=1 setarch "$(uname -m)" -R \
		ctest --test-dir build-tsan --output-on-failure -j "$jobs" -L threads --no-tests=error
	echo "== fuzz harnesses, fixed-seed replay (clang, libFuzzer, ASan+UBSan)"
	build build-fuzz -DCMAKE_C_COMPILER=clang -DMEMVISOR_FUZZ=ON -DMEMVISOR_TESTS=OFF \
		-DMEMVISOR_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
	ctest --test-dir build-fuzz --output-on-failure -L fuzz --no-tests=error
	;;
*)
	echo "usage: $0 tour|test" >&2
	exit 2
	;;
esac
