package clock

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// System sets the host's clock (CAP_SYS_TIME).
type System struct{}

// Step sets CLOCK_REALTIME to now + d.
func (System) Step(d time.Duration) error {
	ts := unix.NsecToTimespec(time.Now().Add(d).UnixNano())
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("clock_settime: %w", err)
	}
	return nil
}

// Slew hands d to the kernel's adjtime (ADJ_OFFSET_SINGLESHOT), which
// slews at 500 ppm.
func (System) Slew(d time.Duration) error { return slew(d) }

// DeviceRTC is a Linux RTC device (/dev/rtc0), kept in UTC.
type DeviceRTC struct{ Path string }

// FindRTC returns /dev/rtc0 when the box has one, else nil.
func FindRTC() RTC {
	const p = "/dev/rtc0"
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	return DeviceRTC{Path: p}
}

// Set writes t (UTC) with the RTC_SET_TIME ioctl.
func (r DeviceRTC) Set(t time.Time) error {
	f, err := os.OpenFile(r.Path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.IoctlSetRTCTime(int(f.Fd()), rtcTime(t)); err != nil {
		return fmt.Errorf("%s: RTC_SET_TIME: %w", r.Path, err)
	}
	return nil
}

// rtcTime is t in UTC as struct rtc_time (months from 0, years from 1900).
func rtcTime(t time.Time) *unix.RTCTime {
	t = t.UTC()
	return &unix.RTCTime{
		Sec: int32(t.Second()), Min: int32(t.Minute()), Hour: int32(t.Hour()),
		Mday: int32(t.Day()), Mon: int32(t.Month()) - 1, Year: int32(t.Year() - 1900),
		Wday: int32(t.Weekday()), Yday: int32(t.YearDay() - 1),
	}
}
