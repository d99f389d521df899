package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/confstore"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/control/controltest"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// fill sets every field of the struct v points to, nested structs included,
// to a distinct non-zero value.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		*n++
		switch f.Kind() {
		case reflect.Struct:
			fill(t, f, n)
		case reflect.String:
			f.SetString(v.Type().Field(i).Name)
		case reflect.Int, reflect.Int64: // time.Duration too
			f.SetInt(int64(*n))
		case reflect.Uint16, reflect.Uint64:
			f.SetUint(uint64(*n))
		default:
			t.Fatalf("fill: %s.%s is a %s: teach fill about it", v.Type(), v.Type().Field(i).Name, f.Kind())
		}
	}
}

// zeroFields names the fields of v (nested structs included) left zero.
func zeroFields(v reflect.Value, prefix string) []string {
	var out []string
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if f.Kind() == reflect.Struct {
			out = append(out, zeroFields(f, name+".")...)
		} else if f.IsZero() {
			out = append(out, name)
		}
	}
	return out
}

// checkMapped fails when the mapping left a field of got zero, or when got
// encodes to other JSON than the session type did: the control socket's
// wire format is the one boxd sent before pkg/control had its own types.
func checkMapped(t *testing.T, in, got any) {
	t.Helper()
	if zero := zeroFields(reflect.ValueOf(got), ""); len(zero) > 0 {
		t.Errorf("%T: mapping from %T leaves %s zero", got, in, strings.Join(zero, ", "))
	}
	a, _ := json.Marshal(in)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("%T encodes as\n%s\nwant (as %T)\n%s", got, b, in, a)
	}
}

func TestControlStatsCarryEveryField(t *testing.T) {
	var in session.StatsSnapshot
	n := 0
	fill(t, reflect.ValueOf(&in).Elem(), &n)
	checkMapped(t, in, controlStats(in))
}

// TestControlSocketServesTheAPI: the socket as serve.go sets it up
// (control.NewHandler(boxAPI{b})) answers the typed API through
// control.Client, errors typed.
func TestControlSocketServesTheAPI(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	missing := filepath.Join(t.TempDir(), "missing.toml") // reload: refused, last good kept
	b := newBox(config.Default(), boxFiles{path: missing, store: confstore.Store{Path: missing}}, sysInfo{}, io.Discard)
	b.srv = session.New(session.Config{Logger: log}, nil, nil) // not serving: no socket, no TUN
	c := control.NewClient(controltest.Serve(t, control.NewHandler(boxAPI{b})))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if p, err := c.Ping(ctx); err != nil || p.Version != version || p.APIVersion != control.APIVersion {
		t.Errorf("ping: %+v %v", p, err)
	}
	if ss, err := c.Sessions(ctx); err != nil || len(ss) != 0 {
		t.Errorf("sessions: %v %v", ss, err)
	}
	if st, err := c.Stats(ctx); err != nil || st.Goroutines == 0 {
		t.Errorf("stats: %+v %v", st, err)
	}
	if _, err := c.Kick(ctx, "alice"); control.CodeOf(err) != control.CodeNotFound {
		t.Errorf("kick alice: %v, want not_found", err)
	}
	// The file is missing: refused, with the reason.
	if _, err := c.Reload(ctx); control.CodeOf(err) != control.CodeRefused || !strings.Contains(err.Error(), missing+": no such file") {
		t.Errorf("reload of a missing file: %v", err)
	}
}
