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
for what in guest fast fastw mte user; do
	a=$(count "$what" "$n")
	b=$(count "$what" $((2 * n)))
	awk -v a="$a" -v b="$b" -v n="$n" -v w="$what" \
		'BEGIN { printf "%-6s %.1f instructions per TLB-hit 8-byte access\n", w, (b - a) / n }'
done
