package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/logring"
)

// logLines is how many of its last log lines boxd keeps for show log.
const logLines = 2000

// followBuffer is how many lines a log follower may fall behind before it
// loses some (and is told how many).
const followBuffer = 256

func (a boxAPI) Log(ctx context.Context, n int) ([]control.LogLine, error) {
	if n < 0 {
		return nil, control.Errorf(control.CodeBadRequest, "log: a count of lines is 0 (all) or more, not %d", n)
	}
	lines := a.b.logs.Last(n)
	out := make([]control.LogLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, logLine(l))
	}
	return out, nil
}

// FollowLog gives fn each line logged from now on at or above minLevel
// ("" is info). A follower that falls behind loses lines rather than
// slowing boxd down; it gets a line saying how many instead.
func (a boxAPI) FollowLog(ctx context.Context, minLevel string, fn func(control.LogLine) error) error {
	min, err := parseLevel(minLevel)
	if err != nil {
		return err
	}
	f := a.b.logs.Follow(min, followBuffer)
	defer f.Close()
	var told uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-f.C():
			if !ok {
				return nil
			}
			if d := f.Dropped(); d > told {
				text := fmt.Sprintf("level=WARN msg=\"log follow: %d lines lost (this follower was too slow)\"", d-told)
				told = d
				if err := fn(control.LogLine{Time: l.Time, Level: "warn", Text: text}); err != nil {
					return err
				}
			}
			if err := fn(logLine(l)); err != nil {
				return err
			}
		}
	}
}

func logLine(l logring.Line) control.LogLine {
	return control.LogLine{Time: l.Time, Level: strings.ToLower(l.Level.String()), Text: l.Text}
}

// parseLevel reads "debug", "info", "warn", "error" (any case; "" is info).
func parseLevel(s string) (slog.Level, error) {
	if s == "" {
		return slog.LevelInfo, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, control.Errorf(control.CodeBadRequest, "log level %q: one of debug, info, warn, error", s)
	}
	return l, nil
}
