#!/bin/bash
# fuzz-all.sh TIME [PACKAGES...]: runs every Fuzz* target in PACKAGES (default
# pkg/, cmd/, firmware/ and qemu/) for TIME each.
#
# Go 1.26's fuzz coordinator can report "context deadline exceeded" as a
# failure when -fuzztime runs out while a worker is still finishing an input
# (go.dev/issue/75804, fixed in Go 1.27). That failure writes no reproducer.
# A run that fails with exactly that error and wrote no new file under
# testdata/fuzz/<target> is run again, up to twice; any other failure, and any
# run that wrote a failing input, fails at once.
set -euo pipefail
t=${1:-10s}
shift || true
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./pkg/... ./cmd/... ./firmware/... ./qemu/...)
n=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# deadline_flake DIR TARGET BEFORE: true if the log shows only the
# coordinator's deadline error and no failing input was written.
deadline_flake() {
	local dir=$1 f=$2 before=$3
	grep -q '^    context deadline exceeded$' "$log" || return 1
	grep -q 'Failing input written to' "$log" && return 1
	[ "$(corpus_count "$dir" "$f")" = "$before" ] || return 1
	# The only FAIL lines are the target's own and the package summary.
	! grep -E '^\s*--- FAIL' "$log" | grep -vq -- "--- FAIL: $f "
}

corpus_count() {
	local d="$1/testdata/fuzz/$2"
	if [ -d "$d" ]; then find "$d" -type f | wc -l; else echo 0; fi
}

for dir in $(go list -f "{{.Dir}}" "${pkgs[@]}"); do
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		for try in 1 2 3; do
			echo "fuzz: ${dir#$PWD/} $f ($t)"
			before=$(corpus_count "$dir" "$f")
			if (cd "$dir" && go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" . >"$log" 2>&1); then
				break
			fi
			if [ "$try" -lt 3 ] && deadline_flake "$dir" "$f" "$before"; then
				echo "fuzz: $f: 'context deadline exceeded' with no failing input (go.dev/issue/75804); running it again"
				continue
			fi
			cat "$log"
			exit 1
		done
		n=$((n+1))
	done
done
echo "fuzz: $n targets passed"
