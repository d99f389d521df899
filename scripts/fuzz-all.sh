#!/bin/bash
# fuzz-all.sh TIME: runs every Fuzz* target in ./pkg/... for TIME each.
set -euo pipefail
t=${1:-10s}
n=0
for dir in $(go list -f "{{.Dir}}" ./pkg/... ./cmd/... ./firmware/... ./qemu/...); do
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz: ${dir#$PWD/} $f ($t)"
		(cd "$dir" && go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" . >/tmp/fuzz-$$.log 2>&1) || { cat /tmp/fuzz-$$.log; rm -f /tmp/fuzz-$$.log; exit 1; }
		n=$((n+1))
	done
done
rm -f /tmp/fuzz-$$.log
echo "fuzz: $n targets passed"
