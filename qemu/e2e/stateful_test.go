package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// statefulConfig is the bench's boxd config with extra [pptp] lines after
// the mppe line.
func statefulConfig(t *testing.T, extra string) string {
	t.Helper()
	cfg := rig.DefaultConfig()
	const line = "mppe = \"require-128\"\n"
	if !strings.Contains(cfg, line) {
		t.Fatalf("rig.DefaultConfig has no %q line to extend:\n%s", line, cfg)
	}
	return strings.Replace(cfg, line, line+extra, 1)
}

// lossTable is the nftables table the loss scenario creates in the box's
// namespace, and deletes again.
const lossTable = "pptpbox_stateful_loss"

// lossEvery drops one GRE packet in lossEvery in each direction (2%): enough
// for dozens of stateful resyncs during a few MiB, few enough for TCP to
// finish in seconds.
const lossEvery = 50

// addLoss drops a random 1/lossEvery of the GRE packets entering and
// leaving the box's namespace (boxd's raw socket sees neither), in a table
// of its own.
func addLoss(ctx context.Context, r *rig.Rig) error {
	rule := fmt.Sprintf("meta l4proto gre numgen random mod %d == 0 counter drop", lossEvery)
	script := fmt.Sprintf(`add table ip %[1]s
add chain ip %[1]s in { type filter hook input priority 0; policy accept; }
add chain ip %[1]s out { type filter hook output priority 0; policy accept; }
add rule ip %[1]s in %[2]s
add rule ip %[1]s out %[2]s
`, lossTable, rule)
	cmd := r.NS.Command(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft add loss: %v: %s", err, out)
	}
	return nil
}

// delLoss removes the loss table and returns its counters.
func delLoss(ctx context.Context, r *rig.Rig) (string, error) {
	list, err := r.NS.Run(ctx, "nft", "list", "table", "ip", lossTable)
	if err != nil {
		return "", err
	}
	if out, err := r.NS.Run(ctx, "nft", "delete", "table", "ip", lossTable); err != nil {
		return list, fmt.Errorf("nft delete table: %v: %s", err, out)
	}
	return list, nil
}

var (
	sessionUpRe  = regexp.MustCompile(`msg="session up".*user=test`)
	sentResetReq = regexp.MustCompile(`msg="sent \[CCP ResetReq`)
	rcvdResetReq = regexp.MustCompile(`msg="rcvd \[CCP ResetReq`)
	sentResetAck = regexp.MustCompile(`msg="sent \[CCP ResetAck`)
	rcvdResetAck = regexp.MustCompile(`msg="rcvd \[CCP ResetAck`)
	droppedRe    = regexp.MustCompile(`counter packets (\d+)`)
)

// TestStatefulMPPE proves stateful MPPE (RFC 3078 §3, §8.2) against the
// real client. With mppe_stateful = true (pppd's mppe-stateful: accept,
// ask for stateless) every pppd client stays stateless, with or without its
// own mppe-stateful, as pptpd + pppd do. With mppe_prefer_stateful = true a
// client with mppe-stateful runs stateful both ways, carries verified data,
// and survives GRE loss through CCP Reset-Request/Reset-Ack resyncs; a
// client without it refuses and ends the link (why preferring is opt-in).
func TestStatefulMPPE(t *testing.T) {
	vmtest.Gate(t)
	vmtest.Require(t, "go", "nft")
	start := time.Now()
	defer func() { t.Logf("e2e: TestStatefulMPPE took %v", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	r := startRigWith(t, ctx, rig.Options{Config: statefulConfig(t, "mppe_stateful = true\n")})
	g := r.Guest

	// dial runs pppd for c and returns its result and log.
	dial := func(t *testing.T, c rig.Client) *rig.Result {
		t.Helper()
		res := dialUp(t, ctx, g, c)
		t.Logf("pppd log (%s, status %d):\n%s", c.Peer, res.Status, res.Log)
		return res
	}
	// up dials c, which must get a link whose MPPE mode both pppd and
	// boxd's session-up line name.
	up := func(t *testing.T, c rig.Client, mode string) {
		t.Helper()
		mark := r.Boxd.Log.Len()
		res := dial(t, c)
		if res.Status != 0 || !res.LocalIP.IsValid() {
			t.Fatalf("pppd exited %d, local IP %v: no link", res.Status, res.LocalIP)
		}
		mustContain(t, "pppd", res.Log, "MPPE 128-bit "+mode+" compression enabled")
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		defer wcancel()
		line, err := r.Boxd.Log.WaitFor(wctx, sessionUpRe, mark)
		if err != nil {
			t.Fatalf("boxd: %v", err)
		}
		t.Logf("boxd: %s", line)
		mustContain(t, "boxd session up", line, `mppe="MPPE 128-bit `+mode+`"`)
		if out, err := g.MustRun(ctx, "ping -c 2 -W 5 "+rig.LocalIP.String()); err != nil {
			t.Errorf("ping: %v\n%s", err, out)
		}
	}
	hangup := func(t *testing.T, c rig.Client) {
		t.Helper()
		log, err := rig.Hangup(ctx, g, c)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "pppd", log, "Connection terminated")
	}

	plain := rig.Client{Peer: "plain", User: rig.User, Password: rig.Password}
	stateful := rig.Client{Peer: "stateful", User: rig.User, Password: rig.Password, Extra: []string{"mppe-stateful"}}

	t.Run("mppe_stateful: client without mppe-stateful gets stateless", func(t *testing.T) {
		up(t, plain, "stateless")
		hangup(t, plain)
	})
	t.Run("mppe_stateful: client with mppe-stateful gets stateless too", func(t *testing.T) {
		up(t, stateful, "stateless")
		hangup(t, stateful)
	})

	if err := os.WriteFile(filepath.Join(r.Dir, "box.toml"), []byte(statefulConfig(t, "mppe_prefer_stateful = true\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.RestartBoxd(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("mppe_prefer_stateful: client without mppe-stateful refuses", func(t *testing.T) {
		res := dial(t, plain)
		if err := rig.WaitPPPDExit(ctx, g, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		mustContain(t, "pppd", res.Log, "Refusing MPPE stateful mode offered by peer")
		if strings.Contains(res.Log, "compression enabled") {
			t.Errorf("pppd without mppe-stateful enabled MPPE against a box preferring stateful")
		}
	})
	ok := t.Run("mppe_prefer_stateful: client with mppe-stateful gets stateful", func(t *testing.T) {
		up(t, stateful, "stateful")
	})
	if !ok {
		t.FailNow()
	}

	// The clean transfers move 4 MiB each way; through the loss 1 MiB is
	// enough: every lost GRE packet costs a resync, and the packets in
	// flight until the flushed one are discarded too, so TCP crawls on
	// retransmission timeouts (about 0.06 MB/s here) while proving the point.
	// Each loss in stateful mode discards what follows it until the
	// flushed packet, so TCP crawls on retransmission timeouts: 1 MiB each
	// way took 10 s to 66 s per direction. 512 KiB still loses about ten
	// packets each way (Reset-Requests both ways) at half the time.
	const size, lossySize = 4 << 20, 512 << 10
	transfer := func(t *testing.T, ctx context.Context, what string, size int64, up, down uint16) {
		t.Helper()
		u, err := rig.Upload(ctx, r.NS, boxPort(up), g, size)
		if err != nil {
			t.Fatalf("%s upload: %v", what, err)
		}
		t.Logf("%s upload   guest -> box: %d bytes in %v (%.2f MB/s), sha256 %s", what, u.Bytes, u.Duration.Round(time.Millisecond), u.Rate(), u.SHA256)
		d, err := rig.Download(ctx, r.NS, boxPort(down), g, size)
		if err != nil {
			t.Fatalf("%s download: %v", what, err)
		}
		t.Logf("%s download box -> guest: %d bytes in %v (%.2f MB/s), sha256 %s", what, d.Bytes, d.Duration.Round(time.Millisecond), d.Rate(), d.SHA256)
	}

	t.Run("transfer 4 MiB each way", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		transfer(t, ctx, "clean", size, 5101, 5102)
	})

	t.Run("512 KiB each way through 2% GRE loss", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()
		mark := r.Boxd.Log.Len()
		if err := addLoss(ctx, r); err != nil {
			t.Fatal(err)
		}
		deleted := false
		t.Cleanup(func() {
			if !deleted {
				delLoss(context.Background(), r)
			}
		})
		transfer(t, ctx, "lossy", lossySize, 5103, 5104)
		list, err := delLoss(ctx, r)
		deleted = err == nil
		if err != nil {
			t.Error(err)
		}
		var dropped []string
		for _, m := range droppedRe.FindAllStringSubmatch(list, -1) {
			dropped = append(dropped, m[1])
		}
		log := r.Boxd.Log.String()[mark:]
		count := func(re *regexp.Regexp) int { return len(re.FindAllStringIndex(log, -1)) }
		t.Logf("GRE dropped (in, out): %v; boxd sent %d Reset-Request, got %d Reset-Ack; got %d Reset-Request, sent %d Reset-Ack",
			dropped, count(sentResetReq), count(rcvdResetAck), count(rcvdResetReq), count(sentResetAck))
		if count(sentResetReq) == 0 {
			t.Error("boxd sent no CCP Reset-Request although client -> box packets were dropped")
		}
		if count(rcvdResetReq) == 0 {
			t.Error("the client sent no CCP Reset-Request although box -> client packets were dropped")
		}
		if n := count(rcvdResetReq); count(sentResetAck) != n {
			t.Errorf("boxd answered %d of %d Reset-Requests", count(sentResetAck), n)
		}
		if out, err := g.MustRun(ctx, "pidof pppd"); err != nil {
			t.Fatalf("pppd gone after the loss: %v %s", err, out)
		}
		// After the loss, a clean transfer proves both directions are in sync.
		transfer(t, ctx, "after loss", size, 5105, 5106)
	})

	t.Run("hangup", func(t *testing.T) {
		log, err := rig.Hangup(ctx, g, stateful)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "pppd", log, "Connection terminated")
		// The loss must not have ended the link before the operator did.
		// ("MPPE disabled" is pppd's own reason on SIGTERM: CCP goes down first.)
		for _, bad := range []string{"Lost compression sync", "Too many MPPE errors", "LCP terminated by peer", "No response to", "Modem hangup"} {
			if strings.Contains(log, bad) {
				t.Errorf("pppd log has %q: the stateful link broke before the hangup", bad)
			}
		}
	})
}
