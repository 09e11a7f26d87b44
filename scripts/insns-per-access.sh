#!/usr/bin/env bash
# Instructions per TLB-hit access, counted by callgrind: two runs of
# tools/probe/insn_probe with N and 2N accesses; the difference of their
# instruction counts over N is the cost of one access (setup cancels out).
#   scripts/insns-per-access.sh [BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}
n=${2:-200000}
probe="$build/tools/probe/insn_probe"
[ -x "$probe" ] || probe="$build/insn_probe"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
count() {   # WHAT N -> total instructions
	local out
	out=$(mktemp)
	valgrind --tool=callgrind --callgrind-out-file="$out" "$probe" "$1" "$2" >/dev/null 2>&1
	awk '/^summary:/ { print $2 }' "$out"
	rm -f "$out"
}
# "native" is the same loop around one plain host load: a row minus it,
# plus that one load, is what the access itself costs.
per() {   # WHAT -> instructions per iteration
	local a b
	a=$(count "$1" "$n")
	b=$(count "$1" $((2 * n)))
	awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }'
}
loop=$(per native)
printf '%-6s %5.1f instructions per iteration (the loop and one plain host load)\n' native "$loop"
for what in guest fast fastw mte user; do
	i=$(per "$what")
	awk -v i="$i" -v l="$loop" -v w="$what" 'BEGIN {
		printf "%-6s %5.1f instructions per TLB-hit 8-byte access with the loop, %.1f without\n",
			w, i, i - l + 1 }'
done
