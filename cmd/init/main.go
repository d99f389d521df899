// Command init is pptpbox's PID 1: the kernel runs it as /init from the initramfs. See
// package firmware/pid1 for what it does.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/pptpbox/pptpbox/firmware/pid1"
)

// version is set by the firmware build (-ldflags -X main.version=...).
var version = ""

func main() {
	err := pid1.Boot(version)
	fmt.Fprintln(os.Stderr, "init:", err)
	if os.Getpid() == 1 {
		// PID 1 must not exit (the kernel panics); leave the message on the console.
		for {
			time.Sleep(time.Hour)
		}
	}
	os.Exit(1)
}
