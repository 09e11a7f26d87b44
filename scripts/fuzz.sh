#!/usr/bin/env bash
# A fuzzing campaign over the libFuzzer harnesses in fuzz/:
#   scripts/fuzz.sh MINUTES [HARNESS...]     e.g. scripts/fuzz.sh 40
#                                                 scripts/fuzz.sh 5 memslot run
# Builds build-fuzz (clang, libFuzzer, ASan+UBSan) if it is not there, then
# runs the harnesses one after the other, one libFuzzer process at a time,
# each for its share of MINUTES, starting from fuzz/corpus/<name> and
# fuzz/regressions/<name>. A crash (or hang, or leak) ends a run: the input
# is kept and the harness carries on with the time it has left, at most
# FUZZ_MAX_CRASHES (3) times. Afterwards each corpus is minimised (libFuzzer
# -set_cover_merge, edges only) back into fuzz/corpus/<name>, which the
# fixed-seed CTest replay (ctest -L fuzz) starts from.
#
# Prints, per harness: executions, coverage (cov and ft from libFuzzer's
# last status line), crashes and where their inputs are, the corpus kept.
# Logs and crash inputs: build-fuzz/campaign/<name>/. Exit status 1 if any
# harness crashed.
set -euo pipefail

cd "$(dirname "$0")/.."
minutes=${1:-}
if [[ ! $minutes =~ ^[0-9]+([.][0-9]+)?$ ]]; then
	echo "usage: $0 MINUTES [HARNESS...]" >&2
	exit 2
fi
shift
build=${FUZZ_BUILD:-build-fuzz}
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
		-DMEMVISOR_TESTS=OFF -DMEMVISOR_SANITIZE=address,undefined \
		-DCMAKE_BUILD_TYPE=Debug >/dev/null
fi
ninja -C "$build" $(printf 'fuzz/fuzz_%s ' "${want[@]}") >/dev/null

share=$(awk -v m="$minutes" -v n="${#want[@]}" 'BEGIN { printf "%d", m * 60 / n }')
echo "== ${#want[@]} harnesses, ${share}s each"

# last "cov: N ft: N" of a log, "- -" if none
coverage() {
	grep -oE 'cov: [0-9]+ ft: [0-9]+' "$1" | tail -n 1 | awk '{ print $2, $4 }' || true
}

status=0
summary=()
for h in "${want[@]}"; do
	bin=$build/fuzz/fuzz_$h
	out=$build/campaign/$h
	rm -rf "$out/corpus" "$out/merged" "$out/crashes"
	mkdir -p "$out/corpus" "$out/merged" "$out/crashes" fuzz/corpus/"$h"
	seeds=(fuzz/corpus/"$h")
	[[ -d fuzz/regressions/$h ]] && seeds+=(fuzz/regressions/"$h")
	[[ $h == scenario ]] && seeds+=(tests/conformance)
	execs=0 crashes=0 run=0 cov="- -"
	end=$((SECONDS + share))
	while ((SECONDS < end - 1)); do
		log=$out/log-$run
		rc=0
		"$bin" -max_total_time=$((end - SECONDS)) -max_len="${max_len[$h]}" -timeout=20 \
			-print_final_stats=1 -artifact_prefix="$out/crashes/" \
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
	"$bin" -set_cover_merge=1 -use_counters=0 -max_len="${max_len[$h]}" "$out/merged" \
		fuzz/corpus/"$h" "$out/corpus" >"$out/merge.log" 2>&1
	rm -rf fuzz/corpus/"$h"
	mv "$out/merged" fuzz/corpus/"$h"
	files=$(find fuzz/corpus/"$h" -type f | wc -l)
	kb=$(du -sk --apparent-size fuzz/corpus/"$h" | cut -f1)
	read -r cv ft <<<"$cov"
	line=$(printf '%-11s execs %9d  cov %5s  ft %6s  crashes %d  corpus %4d files %5d KB' \
		"$h" "$execs" "$cv" "$ft" "$crashes" "$files" "$kb")
	echo "$line"
	summary+=("$line")
	for f in "$out"/crashes/*; do
		[[ -e $f ]] && echo "   crash input: $f"
	done
done

echo "== summary (${minutes} min)"
printf '%s\n' "${summary[@]}"
echo "corpus total: $(du -sk --apparent-size fuzz/corpus | cut -f1) KB"
exit $status
