#!/usr/bin/env bash
# The executions and crashes each fuzz harness has had over every campaign
# recorded in fuzz/campaigns.md (scripts/fuzz.sh --record), against the
# goal of 10 M executions per harness:
#   scripts/fuzz-totals.sh
set -euo pipefail
cd "$(dirname "$0")/.."
awk '
	/^[a-z_]+ +execs +[0-9]+/ { execs[$1] += $3; crashes[$1] += $(NF - 5); seen[$1] = 1 }
	END {
		printf "%-14s %12s %8s  %s\n", "harness", "executions", "crashes", "of 10 M"
		for (h in seen)
			printf "%-14s %12d %8d  %5.1f%%\n", h, execs[h], crashes[h], execs[h] / 1e5
	}' fuzz/campaigns.md | (read -r head; echo "$head"; sort)
