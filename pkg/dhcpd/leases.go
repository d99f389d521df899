package dhcpd

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// leaseFile is the on-disk form: versioned so a later format can be told apart.
type leaseFile struct {
	Version int     `json:"version"`
	Leases  []Lease `json:"leases"`
}

const leaseFileVersion = 1

// parseError is a lease file whose content is damaged (as opposed to one
// that could not be read).
type parseError struct{ err error }

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// parseLeases decodes a lease file, refusing entries a server could not
// use: bad MACs, non-IPv4 addresses, the same MAC or address twice.
func parseLeases(b []byte) ([]Lease, error) {
	var f leaseFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("dhcpd: lease file: %w", err)
	}
	if f.Version != leaseFileVersion {
		return nil, fmt.Errorf("dhcpd: lease file: version %d, want %d", f.Version, leaseFileVersion)
	}
	macs := map[string]bool{}
	addrs := map[string]bool{}
	for i, l := range f.Leases {
		if hw, err := net.ParseMAC(l.MAC); err != nil || len(hw) != 6 || hw.String() != l.MAC {
			return nil, fmt.Errorf("dhcpd: lease file: lease %d: bad mac %q", i, l.MAC)
		}
		if !l.Addr.Is4() {
			return nil, fmt.Errorf("dhcpd: lease file: lease %d: bad address %v", i, l.Addr)
		}
		if _, err := hex.DecodeString(l.ClientID); err != nil || len(l.ClientID) > 2*255 || strings.ToLower(l.ClientID) != l.ClientID {
			return nil, fmt.Errorf("dhcpd: lease file: lease %d: bad client_id %q", i, l.ClientID)
		}
		if macs[l.MAC] || addrs[l.Addr.String()] {
			return nil, fmt.Errorf("dhcpd: lease file: lease %d: %s / %v listed twice", i, l.MAC, l.Addr)
		}
		macs[l.MAC], addrs[l.Addr.String()] = true, true
	}
	return f.Leases, nil
}

func encodeLeases(leases []Lease) ([]byte, error) {
	if leases == nil {
		leases = []Lease{}
	}
	return json.MarshalIndent(leaseFile{Version: leaseFileVersion, Leases: leases}, "", "\t")
}

// loadLeases reads the lease file; a missing file is an empty table.
func loadLeases(path string) ([]Lease, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dhcpd: %w", err)
	}
	leases, err := parseLeases(b)
	if err != nil {
		return nil, &parseError{fmt.Errorf("%w (%s)", err, path)}
	}
	return leases, nil
}

// saveLeases writes the table through a temporary file and a rename, so a
// power cut leaves the old file or the new one, never half of one: the
// temporary file is fsynced before the rename, and the directory (syncDir)
// after it, so that the rename itself is on disk when saveLeases returns.
func saveLeases(path string, leases []Lease, syncDir func(dir string) error) error {
	var kept []Lease
	for _, l := range leases {
		// Declined placeholders are not client leases; they are not kept.
		if _, err := net.ParseMAC(l.MAC); err == nil {
			kept = append(kept, l)
		}
	}
	b, err := encodeLeases(kept)
	if err != nil {
		return fmt.Errorf("dhcpd: encode leases: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".leases-*")
	if err != nil {
		return fmt.Errorf("dhcpd: save leases: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("dhcpd: save leases: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("dhcpd: save leases: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dhcpd: save leases: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dhcpd: save leases: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("dhcpd: save leases: sync directory: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory, making a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// isRenewal reports whether binding l only moves the expiry of a running
// lease (same client, address, hostname, client identifier): such changes
// are written coalesced, not at once.
func (s *Server) isRenewal(l Lease) bool {
	old := s.byMAC[l.MAC]
	return old != nil && !old.Offered && s.now().Before(old.Expiry) &&
		old.Addr == l.Addr && old.Hostname == l.Hostname && old.ClientID == l.ClientID
}

// changed records a change of the table: a binding change (now) is written
// at once; an expiry change is written when the last write is
// ExpiryWriteEvery old, else left for FlushDue or Flush.
func (s *Server) changed(now bool) error {
	s.dirty = true
	return s.flush(now)
}

// flush writes pending changes: at once when now, else only once the last
// write is ExpiryWriteEvery old; s.mu is held.
func (s *Server) flush(now bool) error {
	if !s.dirty || (!now && s.now().Sub(s.lastWrite) < s.cfg.ExpiryWriteEvery) {
		return nil
	}
	return s.save()
}

// FlushDue writes pending expiry changes once ExpiryWriteEvery has passed
// since the last write (Serve calls it every minute).
func (s *Server) FlushDue() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(false)
}

// Flush writes pending changes now (a clean stop).
func (s *Server) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(true)
}

// save writes the table now; s.mu is held.
func (s *Server) save() error {
	s.dirty = false
	if s.cfg.LeaseFile == "" {
		return nil
	}
	s.lastWrite = s.now()
	s.stats.LeaseWrites++
	if err := s.write(s.cfg.LeaseFile, s.snapshot()); err != nil {
		s.stats.LeaseWriteErrs++
		s.dirty = true // try again with the next change or flush
		return err
	}
	return nil
}
