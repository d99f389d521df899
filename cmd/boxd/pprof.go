//go:build pprof

package main

// Built only with -tags pprof (the benchmarks' boxd; the firmware's has no
// profiler): PPTPBOX_PPROF=host:port serves net/http/pprof there, for CPU
// and heap profiles of a loaded boxd.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("PPTPBOX_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
