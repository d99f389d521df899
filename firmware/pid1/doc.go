// Package pid1 is the pptpbox init: the program the kernel starts as /init.
//
// Boot flow, in order (Boot in boot_linux.go):
//
//  1. mount /proc, /sys, /dev, /dev/pts, /run, /tmp
//  2. read the board profile embedded at /etc/pptpbox/board.toml
//  3. load the board's kernel modules (modules.dep order, parameters from the command line)
//  4. hostname, entropy, watchdog (fed from here on)
//  5. rename the NICs to their roles (wan, lan) as the board profile says; a role with no
//     card is missing and the box runs without it (ports_linux.go, later cards too)
//  6. find the config: USB stick labelled PPTPBOX, then the flash CONFIG partition, then the
//     last good copy, then the embedded default (Select in config.go; the volumes and
//     boxd check in config_linux.go)
//  7. set the services' descriptor limit; supervise boxd (restart with backoff, stop on a
//     fault a restart cannot fix: restart.go), reap zombies;
//     a new config is on trial (trial.go) until boxd has served with it, then it is last good,
//     or the box rolls back to the previous last good one (service_linux.go, trial_linux.go)
//  8. print the ready line (ready_linux.go), run the console prompt (console_linux.go)
//
// On SIGTERM or SIGINT (Ctrl-Alt-Del) it reboots, on SIGUSR2 it powers off, as do the console's
// reboot and poweroff: boxd is stopped, the log ring saved to the CONFIG partition and the
// config filesystems unmounted first (shutdown_linux.go). The ring is also saved when boxd
// dies (savelog.go, savelog_linux.go); boxd's show log previous reads it.
//
// The portable decisions (config selection, backoff, the log ring, the command line, the
// prompt) are plain Go with tests; the Linux system calls live in _linux.go files.
package pid1
