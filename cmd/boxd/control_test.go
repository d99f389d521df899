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
	"github.com/pptpbox/pptpbox/pkg/control"
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

// TestControlCommands: every command boxctl's usage lists is one the
// handler serves, and an unknown one is answered with that list.
func TestControlCommands(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := &box{
		log:  log,
		path: filepath.Join(t.TempDir(), "missing.toml"), // reload: refused, last good kept
		cfg:  config.Default(),
		srv:  session.New(session.Config{Logger: log}, nil, nil), // not serving: no socket, no TUN
	}
	h := b.controlHandler()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range control.Commands {
		var args []string
		if c.Args != "" {
			args = []string{"alice"}
		}
		_, err := h(ctx, control.Request{Cmd: c.Name, Args: args})
		if err != nil && !(c.Name == "disconnect" && err.Error() == `no session for user "alice"`) {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	_, err := h(ctx, control.Request{Cmd: "bogus"})
	if want := `unknown command "bogus" (sessions, stats, disconnect USER, reload, ping)`; err == nil || err.Error() != want {
		t.Errorf("bogus: %v, want %s", err, want)
	}
}
