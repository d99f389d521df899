package pid1

import (
	"path/filepath"
	"strings"
	"time"
)

// logDir is where the log is saved on the mounted CONFIG partition; boxd
// -log-previous is its previous.log.
var logDir = filepath.Join(flashMount, LogDirName)

// saveLog saves the ring to the CONFIG partition (SaveLog), when it is
// mounted. A boxd death (death true) is saved at most MaxDeathSaves times
// a boot.
func (b *box) saveLog(reason string, death bool) {
	if b.flashDev == "" {
		return // no CONFIG partition: nowhere to keep it
	}
	if death && b.deathSaves.Add(1) > MaxDeathSaves {
		if b.deathSaves.Load() == MaxDeathSaves+1 {
			b.lg.Warn("log not saved: boxd deaths are saved at most this often a boot (flash wear)", "max", MaxDeathSaves)
		}
		return
	}
	// The reason is one line of the file.
	reason = strings.ReplaceAll(reason, "\n", " ")
	t := time.Now()
	file := filepath.Join(b.logDir, PreviousLogName)
	if err := SaveLog(b.logDir, b.ring.Lines(), reason, t, MaxSavedLog); err != nil {
		b.lg.Error("log not saved", "file", file, "err", err)
		return
	}
	b.lg.Info("log saved", "file", file, "reason", reason, "took", time.Since(t).Round(time.Millisecond))
}
