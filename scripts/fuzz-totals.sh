#!/usr/bin/env bash
# The executions and crashes each fuzz harness has had over every campaign
# recorded in fuzz/campaigns.md (scripts/fuzz.sh --record), against the
# goal of 10 M executions per harness:
#   scripts/fuzz-totals.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# every harness of the table in fuzz/CMakeLists.txt, those no campaign ran yet too
harnesses=$(grep -o '"fuzz_[a-z_]*:[a-z_]*:' fuzz/CMakeLists.txt | cut -d: -f2 | tr '\n' ' ')
awk -v harnesses="$harnesses" '
	BEGIN { n = split(harnesses, names, " "); for (i = 1; i <= n; i++) seen[names[i]] = 1 }
	/^[a-z_]+ +execs +[0-9]+/ { execs[$1] += $3; crashes[$1] += $(NF - 5); seen[$1] = 1 }
	END {
		printf "%-14s %12s %8s  %s\n", "harness", "executions", "crashes", "of 10 M"
		for (h in seen)
			printf "%-14s %12d %8d  %5.1f%%\n", h, execs[h], crashes[h], execs[h] / 1e5
	}' fuzz/campaigns.md | (read -r head; echo "$head"; sort)
