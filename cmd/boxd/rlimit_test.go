package main

import (
	"log/slog"
	"testing"
)

func TestConnCap(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		max  int
		soft uint64
		want int
	}{
		{512, 4096, 512},
		{512, 1024, 512},
		{512, 256, 256 - descriptorReserve},
		{2000, 1024, 1024 - descriptorReserve},
		{512, 0, 512},
		{512, 10, 1},
		{512, 1 << 40, 512},
	} {
		if got := connCap(tc.max, tc.soft, log); got != tc.want {
			t.Errorf("connCap(%d, %d) = %d, want %d", tc.max, tc.soft, got, tc.want)
		}
	}
}
