package clock

import (
	"testing"
	"time"
)

func TestRTCTime(t *testing.T) {
	r := rtcTime(time.Date(2026, time.December, 3, 4, 5, 6, 0, time.FixedZone("x", 3600)))
	if r.Year != 126 || r.Mon != 11 || r.Mday != 3 || r.Hour != 3 || r.Min != 5 || r.Sec != 6 || r.Wday != 4 || r.Yday != 336 {
		t.Fatalf("%+v", r)
	}
}
