package pid1

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/pptpbox/pptpbox/pkg/atomicfile"
)

// Source is where the running config came from.
type Source int

const (
	SourceNone     Source = iota
	SourceUSB             // pptpbox.toml on a FAT stick labelled PPTPBOX
	SourceFlash           // pptpbox.toml on the CONFIG partition
	SourceLastGood        // last-good.toml on the CONFIG partition
	SourceDefault         // /etc/pptpbox/default.toml in the initramfs
)

func (s Source) String() string {
	switch s {
	case SourceNone:
		return "none"
	case SourceUSB:
		return "usb"
	case SourceFlash:
		return "flash"
	case SourceLastGood:
		return "last-good"
	case SourceDefault:
		return "default"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// File names on the CONFIG partition and the USB stick.
const (
	ConfigName   = "pptpbox.toml"
	LastGoodName = "last-good.toml"
	// AcctSpoolDir is boxd's RADIUS accounting spool (boxd -acct-spool).
	AcctSpoolDir = "acct"
)

// Candidate is one config file that may be used. A nil *Candidate means "not present".
type Candidate struct {
	Source Source
	Path   string // where it was read, for messages
	Data   []byte
	// Err is why the file could not be read (too large, an I/O error): such a candidate
	// is rejected like one that fails validation, with Err on the console.
	Err error
}

// MaxConfigSize caps what the init reads from the USB stick and the CONFIG partition: a real
// config is a few KiB, and the init holds the file in memory (and copies it to /run and to
// flash), so a stick with a huge pptpbox.toml must not exhaust the box's RAM.
const MaxConfigSize = 1 << 20

// Validator checks a config; the error text is shown to the operator as is, so it should be
// the file:line:key message of `boxd check`.
type Validator func(c *Candidate) error

// Decision is the outcome of Select.
type Decision struct {
	Use *Candidate
	// Errors are shown on the console at every boot until the config is fixed.
	Errors []string
	// Notes are informational ("config copied from USB to flash").
	Notes []string
	// WriteFlash: write Use.Data to the CONFIG partition as pptpbox.toml (a USB config
	// that validated, so that it survives the stick being removed).
	WriteFlash bool
	// WriteLastGood: Use is a new config (from USB or flash, not the last good one): it
	// becomes last-good.toml once boxd has served with it (a Trial), and until then
	// Fallback is what the box goes back to if boxd fails with it.
	WriteLastGood bool
	// Fallback is the previous last good config, else the embedded default (re-validated
	// before use).
	Fallback *Candidate
}

// Select decides which config the box runs. A config that fails validation is never used:
//
//   - a valid USB config wins, and is copied to flash;
//   - else a valid flash config;
//   - else the last good config, with the errors of the newer ones on the console;
//   - else the embedded default, which must be valid (it is tested at build time).
//
// Whatever valid file from USB or flash is used becomes the new last good one once boxd has
// served with it (see Trial); a file that could not be read (Candidate.Err) counts as
// invalid.
func Select(usb, flash, lastGood *Candidate, def *Candidate, validate Validator) Decision {
	var d Decision
	try := func(c *Candidate, what string) bool {
		if c == nil {
			return false
		}
		if c.Err != nil {
			d.Errors = append(d.Errors, fmt.Sprintf("config: %s %s rejected, not applied: %v", what, c.Path, c.Err))
			return false
		}
		if err := validate(c); err != nil {
			d.Errors = append(d.Errors, fmt.Sprintf("config: %s %s rejected, not applied: %v", what, c.Path, err))
			return false
		}
		return true
	}
	switch {
	case try(usb, "USB"):
		d.Use = usb
		d.WriteFlash = flash == nil || !bytes.Equal(flash.Data, usb.Data)
		if d.WriteFlash {
			d.Notes = append(d.Notes, fmt.Sprintf("config: %s from USB copied to flash", usb.Path))
		}
	case try(flash, "flash"):
		d.Use = flash
	case try(lastGood, "last good"):
		d.Use = lastGood
		d.Notes = append(d.Notes, "config: running the last good config "+lastGood.Path)
	default:
		d.Use = def
		d.Notes = append(d.Notes, "config: running the embedded default "+def.Path)
	}
	if (d.Use.Source == SourceUSB || d.Use.Source == SourceFlash) && (lastGood == nil || !bytes.Equal(lastGood.Data, d.Use.Data)) {
		d.WriteLastGood = true
		d.Fallback = def
		if lastGood != nil && lastGood.Err == nil {
			d.Fallback = lastGood
		}
	}
	return d
}

// WriteFileAtomic replaces dir/name with data so that a power cut leaves either the old or
// the new file (pkg/atomicfile: temporary file, fsync, rename, fsync of the directory).
func WriteFileAtomic(dir, name string, data []byte) error {
	return atomicfile.Write(filepath.Join(dir, name), data)
}

// ReadCandidate reads a config file, returning nil when it does not exist. A file that
// cannot be read or is larger than MaxConfigSize is returned with Err set (and no data),
// so that Select rejects it with that message; the read stops at MaxConfigSize+1 bytes.
func ReadCandidate(src Source, path string) *Candidate {
	c := &Candidate{Source: src, Path: path}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		c.Err = err
		return c
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	switch {
	case err != nil:
		c.Err = fmt.Errorf("read: %w", err)
	case len(data) > MaxConfigSize:
		c.Err = fmt.Errorf("larger than %d bytes (1 MiB), not read", MaxConfigSize)
	default:
		c.Data = data
	}
	return c
}

// ConsoleSettings is what the init reads of a config's [console] section.
type ConsoleSettings struct {
	DebugShell   bool   `toml:"debug_shell"`
	PasswordHash string `toml:"password_hash"`
}

// ReadConsoleSettings reads the [console] section of a config (zero values if the file does
// not parse). Only keys the init needs are read; the daemon's loader owns validation, and
// a config it rejects is never the one passed here.
func ReadConsoleSettings(data []byte) ConsoleSettings {
	var c struct {
		Console ConsoleSettings `toml:"console"`
	}
	if _, err := toml.Decode(string(data), &c); err != nil {
		return ConsoleSettings{}
	}
	return c.Console
}

// DebugShellRequested reports whether a config asks for the console's debug shell
// ([console] debug_shell = true).
func DebugShellRequested(data []byte) bool { return ReadConsoleSettings(data).DebugShell }

// ReadFlash reads the CONFIG partition's config in dir. When a `config commit confirmed`
// was still waiting for its confirmation as the box went down, the pending marker
// (pptpbox.toml.pending) is there: the commit was never confirmed, so the flash candidate
// is the rollback point (pptpbox.toml.prev), the config before it; otherwise the trial
// would make the unconfirmed commit the last good config. boxd puts the rollback point
// back into pptpbox.toml when it starts (confstore.RevertPending). note says what was
// chosen and why ("" for the plain file).
func ReadFlash(dir string) (c *Candidate, note string) {
	path := filepath.Join(dir, ConfigName)
	if _, err := os.Stat(path + ".pending"); err == nil {
		if prev := ReadCandidate(SourceFlash, path+".prev"); prev != nil {
			return prev, fmt.Sprintf("config: %s was committed with `commit confirmed` and never confirmed: using the config before it, %s", path, prev.Path)
		}
		return ReadCandidate(SourceFlash, path), fmt.Sprintf("config: %s has a pending marker but no rollback point: using it as it is", path)
	}
	return ReadCandidate(SourceFlash, path), ""
}
