package pid1

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pptpbox/pptpbox/pkg/atomicfile"
)

// The log that survives: the init's ring (its own lines and boxd's) is
// saved to the CONFIG partition on reboot, poweroff and when boxd dies,
// and boxd's `show log previous` reads it (boxd -log-previous).
//
// Flash wear: the file is written only at those events, never
// periodically; each save writes at most MaxSavedLog bytes (plus FAT
// metadata), and boxd deaths are saved at most MaxDeathSaves times a
// boot (a crash loop would otherwise rewrite it at every restart). A
// power cut saves nothing: the ring lives in RAM until one of the events.
const (
	LogDirName      = "log"            // on the CONFIG partition
	PreviousLogName = "previous.log"   // the last save
	OlderLogName    = "previous.1.log" // the save before it
	MaxSavedLog     = 256 << 10
	MaxDeathSaves   = 5
)

// SaveLog writes lines (oldest first) to dir/previous.log, after moving
// the previous save to previous.1.log: the last lines that fit in max
// bytes, a note of how many earlier ones were left out, and a last line
// saying when and why. The write is atomic (pkg/atomicfile): a power cut
// leaves the old file or the new one.
func SaveLog(dir string, lines []string, reason string, now time.Time, max int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	trailer := fmt.Sprintf("--- log saved %s: %s\n", now.UTC().Format(time.RFC3339), reason)
	const noteRoom = 80 // "--- N earlier lines left out ..."
	size := len(trailer) + noteRoom
	first := len(lines)
	for first > 0 && size+len(lines[first-1])+1 <= max {
		size += len(lines[first-1]) + 1
		first--
	}
	var b bytes.Buffer
	b.Grow(size)
	if first > 0 {
		fmt.Fprintf(&b, "--- %d earlier lines left out (at most %d bytes are kept)\n", first, max)
	}
	for _, l := range lines[first:] {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString(trailer)
	cur := filepath.Join(dir, PreviousLogName)
	if err := os.Rename(cur, filepath.Join(dir, OlderLogName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.Write(cur, b.Bytes())
}
