#!/usr/bin/env bash
# The memory-model rule for page-table and EPT entries (docs/architecture.md,
# "Memory model"): no code in src/ reads or writes an entry through a bare
# pointer; ptep_get(), set_pte(), pte_clear(), ptep_get_and_clear() and
# ptep_try_cmpxchg() (src/hw/pgtable.h) are the only way. This check finds
# dereferences of the names the tree uses for entry pointers and plain
# indexing of a table, so a new plain access fails the test command.
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root"

names='pte|ptep|entry|ep|sptep|epte|dst|eps\[[^]]*\]|s->ep\[[^]]*\]'
# a dereference: '*name' after an operator, an opening bracket, a comma or 'return'
deref="(^|[=(,!&|~+;{?:-]|return)[[:space:]]*\*[[:space:]]*(${names})([^a-zA-Z0-9_]|$)"
# a table read or written by index, not its address taken
index='(^|[^&a-zA-Z0-9_])table\[[^]]*\]'

status=0
while IFS= read -r hit; do
	echo "plain page-table access: $hit" >&2
	status=1
done < <(grep -nE "$deref|$index" --include='*.c' --include='*.h' -r src/hw src/kernel src/kvm src/api src/vmm |
	 grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*( |$|/)|/\*|//)' || true)

if ((status)); then
	echo "use ptep_get()/set_pte()/ptep_try_cmpxchg() from src/hw/pgtable.h" >&2
	exit 1
fi
echo "page-table accesses: all through the accessors"
