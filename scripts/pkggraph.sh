#!/bin/bash
# pkggraph.sh [table|mermaid]: the import graph between pptpbox's own
# packages (production code, tests not counted), for docs/package-graph.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
mode=${1:-table}
go list -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' ./... |
	sed "s#$mod/##g" |
	awk -v mode="$mode" '
	{
		out = ""
		for (i = 2; i <= NF; i++) if ($i ~ /^(pkg|internal|cmd|qemu|firmware)\//) out = out (out == "" ? "" : ", ") $i
		if (mode == "table") { printf "| %s | %s |\n", $1, (out == "" ? "—" : out) }
		else {
			for (i = 2; i <= NF; i++) if ($i ~ /^(pkg|internal|cmd|qemu|firmware)\//) {
				a = $1; b = $i; gsub(/[\/.-]/, "_", a); gsub(/[\/.-]/, "_", b)
				printf "  %s[%s] --> %s[%s]\n", a, $1, b, $i
			}
		}
	}' | { if [ "$mode" = table ]; then echo "| package | imports (pptpbox packages) |"; echo "|---|---|"; cat; else echo '```mermaid'; echo 'graph LR'; cat; echo '```'; fi; }
