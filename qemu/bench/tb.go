package main

import (
	"fmt"
	"os"
	"testing"
)

// tb lets the bench use the test helpers that take a testing.TB
// (radiustest starts FreeRADIUS the way the tests do): Fatal and Skip
// panic with a tbStop that runTB turns into an error, Cleanup functions
// run when runTB returns. Methods the helpers do not call are left to the
// embedded nil interface (a call would panic, which a test of the bench
// would catch).
type tb struct {
	testing.TB
	dir      string
	cleanups []func()
	failed   bool
}

type tbStop struct{ msg string }

func (t *tb) Helper()                           {}
func (t *tb) Name() string                      { return "bench" }
func (t *tb) Failed() bool                      { return t.failed }
func (t *tb) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *tb) Log(args ...any)                   { fmt.Fprintln(os.Stderr, args...) }
func (t *tb) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (t *tb) Error(args ...any)                 { t.failed = true; t.Log(args...) }
func (t *tb) Errorf(format string, args ...any) { t.failed = true; t.Logf(format, args...) }
func (t *tb) Fatal(args ...any)                 { t.failed = true; panic(tbStop{fmt.Sprint(args...)}) }
func (t *tb) Fatalf(format string, args ...any) {
	t.failed = true
	panic(tbStop{fmt.Sprintf(format, args...)})
}
func (t *tb) Skip(args ...any) { panic(tbStop{"skip: " + fmt.Sprint(args...)}) }
func (t *tb) Skipf(format string, args ...any) {
	panic(tbStop{"skip: " + fmt.Sprintf(format, args...)})
}
func (t *tb) TempDir() string {
	d, err := os.MkdirTemp(t.dir, "tb")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runTB calls fn with a tb whose temporary directories are under dir; the
// returned cleanup runs the registered Cleanup functions. A Fatal or Skip
// in fn is returned as an error.
func runTB(dir string, fn func(t testing.TB)) (cleanup func(), err error) {
	t := &tb{dir: dir}
	cleanup = func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
		t.cleanups = nil
	}
	defer func() {
		if r := recover(); r != nil {
			s, ok := r.(tbStop)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s", s.msg)
		}
	}()
	fn(t)
	return cleanup, nil
}
