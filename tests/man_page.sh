#!/bin/sh
# Renders the man page (docs/memvisor.1) with groff and fails on any
# warning, or when a section or a verb is missing. Exit 77 (CTest's skip)
# when groff is not installed.
page=$1
if ! command -v groff >/dev/null 2>&1; then
	echo "groff is not installed: skipped"
	exit 77
fi
warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || {
	printf '%s\n' "$warnings"
	exit 1
}
if [ -n "$warnings" ]; then
	printf 'groff warnings:\n%s\n' "$warnings"
	exit 1
fi
text=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)
for want in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" FILES EXAMPLES \
	"memvisor tour" "memvisor run" "memvisor trace" "memvisor bench" \
	"memvisor map" "memvisor attacks" "memvisor race"; do
	if ! printf '%s\n' "$text" | grep -q "$want"; then
		echo "the rendered page lacks '$want'"
		exit 1
	fi
done
# no line of the rendering is wider than the 80-column terminal it targets
if printf '%s\n' "$text" | awk 'length > 80 { bad = 1 } END { exit !bad }'; then
	echo "the rendered page has lines wider than 80 columns"
	exit 1
fi
echo "memvisor.1 renders cleanly"
