package main

import (
	"os"
	"testing"
	"time"
)

func TestProcTicks(t *testing.T) {
	// A command name with a space and a parenthesis, as the kernel writes it.
	line := "4242 (box d) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 9 0 100 0 0"
	got, err := procTicks(line)
	if err != nil || got != 1234+567 {
		t.Fatalf("procTicks = %d, %v; want 1801", got, err)
	}
	if _, err := procTicks("4242 (boxd) S 1"); err == nil {
		t.Fatal("a short line parsed")
	}
}

func TestBusyTicks(t *testing.T) {
	stat := "cpu  100 5 30 9000 7 2 3 40 0 0\ncpu0 50 2 15 4500 3 1 1 20 0 0\n"
	got, err := busyTicks(stat)
	if err != nil || got != 100+5+30+2+3 {
		t.Fatalf("busyTicks = %d, %v; want 140", got, err)
	}
	if _, err := busyTicks("intr 1 2 3\n"); err == nil {
		t.Fatal("a file without the cpu line parsed")
	}
}

// TestSampleCPUSelf: the bench's own process burns CPU until its counter
// moved 20 ticks; the machine's busy time moved at least as far (both
// count the same time), and cores turns ticks into a rate.
func TestSampleCPUSelf(t *testing.T) {
	a, err := sampleCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	b := a
	for deadline := time.Now().Add(20 * time.Second); b.proc-a.proc < 20; {
		if time.Now().After(deadline) {
			t.Fatalf("20 s of a busy loop moved the process's counter %d ticks", b.proc-a.proc)
		}
		for end := time.Now().Add(10 * time.Millisecond); time.Now().Before(end); {
		}
		if b, err = sampleCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if b.busy-a.busy+2 < b.proc-a.proc { // two ticks of rounding between the files
		t.Fatalf("process %d ticks, machine busy %d", b.proc-a.proc, b.busy-a.busy)
	}
	proc, busy := a.cores(b)
	want := float64(b.proc-a.proc) / clockTicks / b.at.Sub(a.at).Seconds()
	if proc != want || busy < proc*0.5 {
		t.Fatalf("cores: process %.3f (want %.3f), machine %.3f", proc, want, busy)
	}
}
