package confstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/atomicfile"
	"github.com/pptpbox/pptpbox/pkg/config"
)

// Store is where commits go: Path, the config store (on the firmware the
// CONFIG partition's pptpbox.toml), and RunPath, the file boxd runs with
// (the firmware's copy in /run; "" or Path itself when boxd runs from the
// store). Beside Path lie the rollback point (Path + ".prev": the config
// that ran before the last commit) and, while a commit confirmed waits,
// the pending marker (Path + ".pending", with the revert deadline).
type Store struct {
	Path    string
	RunPath string
}

// PrevPath is the rollback point's file.
func (s Store) PrevPath() string { return s.Path + ".prev" }

// PendingPath is the pending marker's file.
func (s Store) PendingPath() string { return s.Path + ".pending" }

// MaxSize caps a config's text (as the firmware's init caps what it reads).
const MaxSize = 1 << 20

// marker is the pending file's content.
type marker struct {
	RevertAt time.Time `json:"revert_at"`
	Comment  string    `json:"comment,omitempty"`
}

// write puts text in the store (and the run file) atomically.
func (s Store) write(text string) error {
	if err := atomicfile.Write(s.Path, []byte(text)); err != nil {
		return err
	}
	if s.RunPath != "" && s.RunPath != s.Path {
		return atomicfile.Write(s.RunPath, []byte(text))
	}
	return nil
}

func (s Store) writePrev(text string) error {
	return atomicfile.Write(s.PrevPath(), []byte(text))
}

func (s Store) readPrev() (string, error) {
	b, err := readLimited(s.PrevPath())
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: no rollback point (%s): nothing was committed here yet", ErrNotFound, s.PrevPath())
	}
	return string(b), err
}

func (s Store) writeMarker(m marker) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(s.PendingPath(), append(b, '\n'))
}

// removeMarker deletes the pending marker and makes the deletion durable.
func (s Store) removeMarker() error {
	if err := os.Remove(s.PendingPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(s.PendingPath()))
}

func (s Store) readMarker() (marker, bool, error) {
	b, err := readLimited(s.PendingPath())
	if errors.Is(err, os.ErrNotExist) {
		return marker{}, false, nil
	}
	if err != nil {
		return marker{}, true, err
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil {
		return marker{}, true, fmt.Errorf("%s: %v", s.PendingPath(), err)
	}
	return m, true, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err == nil && len(b) > MaxSize {
		err = fmt.Errorf("%s: larger than %d bytes", path, MaxSize)
	}
	return b, err
}

// RevertPending is what boxd does at start, before it reads its config:
// a commit confirmed that was still waiting when boxd stopped (a crash, a
// restart, a reboot) was never confirmed, so the rollback point goes back
// into the store and the run file, and the marker goes. After a restart
// nobody can confirm the old commit any more, and a reboot may come with
// a wrong clock, so the revert does not wait for the deadline. It reports
// whether it reverted; a rollback point that is missing or does not
// validate is logged and the marker dropped (the box keeps the committed
// config: it validated when it was committed).
func RevertPending(s Store, log *slog.Logger) (bool, error) {
	m, ok, err := s.readMarker()
	if !ok {
		return false, nil
	}
	if err != nil {
		log.Error("commit confirmed: unreadable pending marker, reverting anyway", "err", err)
	}
	prev, err := s.readPrev()
	if err == nil {
		_, errs := Check(s.PrevPath(), prev)
		if len(errs) > 0 {
			err = fmt.Errorf("rollback point does not validate: %s", strings.Join(errs, "; "))
		}
	}
	if err != nil {
		log.Error("commit confirmed: cannot revert, keeping the committed config", "err", err)
		return false, s.removeMarker()
	}
	if err := s.write(prev); err != nil {
		return false, err
	}
	if err := s.removeMarker(); err != nil {
		return false, err
	}
	log.Warn("commit confirmed was not confirmed before boxd stopped: reverted to the rollback point",
		"store", s.Path, "revert_at", m.RevertAt, "comment", m.Comment)
	return true, nil
}

// Check parses and validates text as boxd does (named name in errors) and
// returns the config, or every error as "file:line: key: message".
func Check(name, text string) (*config.Config, []string) {
	errs := checkErrs(name, text)
	if len(errs) > 0 {
		out := make([]string, len(errs))
		for i, e := range errs {
			out[i] = e.Error()
		}
		return nil, out
	}
	c, _ := config.Parse(name, []byte(text))
	c.Validate() // keeps the parsed parameters; it passed above
	return c, nil
}

// checkErrs is Parse + Validate's errors, one per entry.
func checkErrs(name, text string) []error {
	if len(text) > MaxSize {
		return []error{&config.Error{File: name, Msg: fmt.Sprintf("larger than %d bytes", MaxSize)}}
	}
	c, err := config.Parse(name, []byte(text))
	if err == nil {
		err = c.Validate()
	}
	return flatten(err)
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// newErrors are the errors of after that before does not have, compared
// by key and message (an edit moves lines).
func newErrors(before, after []error) []string {
	had := map[string]bool{}
	for _, e := range before {
		had[errKey(e)] = true
	}
	var out []string
	for _, e := range after {
		if !had[errKey(e)] {
			out = append(out, e.Error())
		}
	}
	return out
}

func errKey(e error) string {
	var ce *config.Error
	if errors.As(e, &ce) {
		return ce.Key + "\x00" + ce.Msg
	}
	return e.Error()
}
