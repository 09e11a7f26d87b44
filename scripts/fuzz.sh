#!/usr/bin/env bash
# A fuzzing campaign over the libFuzzer harnesses in fuzz/:
#   scripts/fuzz.sh [--fast] [--jobs N] [--execs N] [--record] MINUTES [HARNESS...]
#       e.g. scripts/fuzz.sh 40
#            scripts/fuzz.sh --fast --jobs 2 120
#            scripts/fuzz.sh 5 memslot run
#            scripts/fuzz.sh --fast --jobs 2 --execs 10000000 0
# With --execs, each harness runs until it has made N executions (MINUTES
# then caps each harness's time as well; 0: no cap). --record appends the
# summary, with the date, the commit and the build, to fuzz/campaigns.md,
# the ledger whose totals say how many executions each harness has had.
# Builds the fuzz tree if it is not there, then runs the harnesses, N
# libFuzzer processes at a time (--jobs, default 1), each harness for its
# share of MINUTES x N, starting from fuzz/corpus/<name> and
# fuzz/regressions/<name>. A crash (or hang, or leak) ends a run: the input
# is kept and the harness carries on with the time it has left, at most
# FUZZ_MAX_CRASHES (3) times. Afterwards each corpus is minimised (libFuzzer
# -set_cover_merge, edges only) back into fuzz/corpus/<name>, which the
# fixed-seed CTest replay (ctest -L fuzz) starts from.
#
# Builds: by default build-fuzz, -O0 with ASan+UBSan (every memory error is
# caught where it happens). --fast uses build-fuzz-fast instead: -O2 with
# UBSan only, about 5x the executions per second; the harnesses' own checks
# (the shadow, leaked frames, errno ranges) still abort on a broken rule,
# and the corpus it leaves is replayed under ASan+UBSan by the test command.
# FUZZ_BUILD overrides the directory.
#
# Prints, per harness: executions, executions per second, coverage (cov
# and ft from libFuzzer's last status line), crashes and where their inputs
# are, the corpus kept; then the totals. Logs and crash inputs:
# <build>/campaign/<name>/. Exit status 1 if any harness crashed.
set -euo pipefail

cd "$(dirname "$0")/.."
fast=0
jobs=1
target=0
record=0
while (($#)); do
	case $1 in
	--fast) fast=1; shift ;;
	--jobs) jobs=${2:-}; shift 2 || true ;;
	--execs) target=${2:-}; shift 2 || true ;;
	--record) record=1; shift ;;
	*) break ;;
	esac
done
minutes=${1:-}
if [[ ! $minutes =~ ^[0-9]+([.][0-9]+)?$ || ! $jobs =~ ^[1-9][0-9]*$ ||
	! $target =~ ^[0-9]+$ ]] || { ((target == 0)) && [[ $minutes =~ ^0*([.]0*)?$ ]]; }; then
	echo "usage: $0 [--fast] [--jobs N] [--execs N] [--record] MINUTES [HARNESS...]" >&2
	exit 2
fi
shift
if ((fast)); then
	build=${FUZZ_BUILD:-build-fuzz-fast}
	sanitize=undefined
	build_type=RelWithDebInfo
else
	build=${FUZZ_BUILD:-build-fuzz}
	sanitize=address,undefined
	build_type=Debug
fi
max_crashes=${FUZZ_MAX_CRASHES:-3}

# name:corpus:max_len:replay-runs rows, from the one table in fuzz/CMakeLists.txt
mapfile -t rows < <(grep -o '"fuzz_[a-z_]*:[a-z_]*:[0-9]*:[0-9]*"' fuzz/CMakeLists.txt | tr -d '"')
declare -A max_len=()
all=()
for row in "${rows[@]}"; do
	IFS=: read -r name dir len _ <<<"$row"
	all+=("$dir")
	max_len[$dir]=$len
done
if (($# > 0)); then
	want=("$@")
else
	want=("${all[@]}")
fi
for h in "${want[@]}"; do
	if [[ -z ${max_len[$h]:-} ]]; then
		echo "unknown harness '$h' (known: ${all[*]})" >&2
		exit 2
	fi
done

if [[ ! -f $build/build.ninja ]]; then
	cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DMEMVISOR_FUZZ=ON \
		-DMEMVISOR_TESTS=OFF -DMEMVISOR_SANITIZE=$sanitize \
		-DCMAKE_BUILD_TYPE=$build_type >/dev/null
fi
ninja -C "$build" $(printf 'fuzz/fuzz_%s ' "${want[@]}") >/dev/null

share=$(awk -v m="$minutes" -v n="${#want[@]}" -v j="$jobs" 'BEGIN { printf "%d", m * 60 * j / n }')
if ((target)); then
	((share > 0)) || share=$((365 * 86400))
	echo "== ${#want[@]} harnesses, $target executions each (at most ${share}s), $jobs at a time ($build)"
else
	echo "== ${#want[@]} harnesses, ${share}s each, $jobs at a time ($build)"
fi

# last "cov: N ft: N" of a log, "- -" if none
coverage() {
	grep -oE 'cov: [0-9]+ ft: [0-9]+' "$1" | tail -n 1 | awk '{ print $2, $4 }' || true
}

# One harness's campaign; its summary line goes to <out>/summary, its exit
# status says whether it crashed.
campaign() {
	local h=$1 bin out seeds execs crashes run cov end log rc n c files kb cv ft line runs
	local started=$SECONDS status=0
	# absolute: fuzz_scenario runs in a scratch directory, and a merge
	# re-executes the binary from there
	bin=$PWD/$build/fuzz/fuzz_$h
	out=$build/campaign/$h
	rm -rf "$out/corpus" "$out/merged" "$out/crashes" "$out/summary"
	mkdir -p "$out/corpus" "$out/merged" "$out/crashes" fuzz/corpus/"$h"
	seeds=(fuzz/corpus/"$h")
	[[ -d fuzz/regressions/$h ]] && seeds+=(fuzz/regressions/"$h")
	[[ $h == scenario ]] && seeds+=(tests/conformance)
	execs=0 crashes=0 run=0 cov="- -"
	end=$((SECONDS + share))
	while ((SECONDS < end - 1)) && ((target == 0 || execs < target)); do
		log=$out/log-$run
		rc=0
		runs=()
		((target)) && runs=(-runs=$((target - execs)))
		"$bin" -max_total_time=$((end - SECONDS)) "${runs[@]}" -max_len="${max_len[$h]}" \
			-timeout=20 -print_final_stats=1 -artifact_prefix="$out/crashes/" \
			"$out/corpus" "${seeds[@]}" >"$log" 2>&1 || rc=$?
		n=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{ s += $2 } END { print s + 0 }')
		execs=$((execs + n))
		c=$(coverage "$log")
		[[ -n $c ]] && cov=$c
		run=$((run + 1))
		((rc == 0)) && break
		crashes=$((crashes + 1))
		status=1
		echo "   $h: run $run ended (exit $rc): $(grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY' "$log" || echo 'see log')"
		((crashes >= max_crashes)) && break
	done
	# minimise: the old corpus and everything new, down to a small set that
	# covers the same edges (hit counts left out, or the set is ten times larger)
	if "$bin" -set_cover_merge=1 -use_counters=0 -max_len="${max_len[$h]}" "$PWD/$out/merged" \
		"$PWD/fuzz/corpus/$h" "$PWD/$out/corpus" >"$out/merge.log" 2>&1 &&
		[[ -n $(ls -A "$out/merged") ]]; then
		rm -rf fuzz/corpus/"$h"
		mv "$out/merged" fuzz/corpus/"$h"
	else
		# a failed merge never costs the committed corpus
		echo "   $h: minimising failed, corpus kept (see $out/merge.log)"
	fi
	files=$(find fuzz/corpus/"$h" -type f | wc -l)
	kb=$(du -sk --apparent-size fuzz/corpus/"$h" | cut -f1)
	read -r cv ft <<<"$cov"
	line=$(printf '%-14s execs %10d  %6d/s  cov %5s  ft %6s  crashes %d  corpus %4d files %5d KB' \
		"$h" "$execs" $((execs / (SECONDS - started + 1))) "$cv" "$ft" "$crashes" "$files" "$kb")
	echo "$line"
	echo "$line" >"$out/summary"
	for f in "$out"/crashes/*; do
		[[ -e $f ]] && echo "   crash input: $f"
	done
	return $status
}

status=0
running=0
for h in "${want[@]}"; do
	if ((running >= jobs)); then
		wait -n || status=1
		running=$((running - 1))
	fi
	campaign "$h" &
	running=$((running + 1))
done
while ((running > 0)); do
	wait -n || status=1
	running=$((running - 1))
done

echo "== summary (${minutes} min, $build)"
total=0
for h in "${want[@]}"; do
	line=$(cat "$build/campaign/$h/summary" 2>/dev/null || echo "$h: no summary")
	echo "$line"
	total=$((total + $(awk '{ print $3 + 0 }' <<<"$line")))
done
echo "executions in all: $total"
if ((record)); then
	{
		echo
		echo "## $(date -u +%Y-%m-%d) $(git rev-parse --short HEAD) $build, $jobs at a time"
		echo
		echo '```'
		for h in "${want[@]}"; do
			cat "$build/campaign/$h/summary" 2>/dev/null || echo "$h: no summary"
		done
		echo '```'
	} >>fuzz/campaigns.md
	echo "recorded in fuzz/campaigns.md; totals: scripts/fuzz-totals.sh"
fi
echo "corpus total: $(du -sk --apparent-size fuzz/corpus | cut -f1) KB"
exit $status
