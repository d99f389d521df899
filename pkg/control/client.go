package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Client is the API over boxd's control socket: one connection per call,
// so a stream (FollowLog, Trace, Probe) ends by closing its own.
type Client struct {
	Socket string // DefaultSocket if ""
}

var _ API = (*Client)(nil)

// NewClient is a Client of the socket at path ("" for DefaultSocket).
func NewClient(path string) *Client { return &Client{Socket: path} }

func (c *Client) socket() string {
	if c.Socket == "" {
		return DefaultSocket
	}
	return c.Socket
}

// dial connects to the socket at path. Nothing listening (no socket file,
// or a stale one) is ErrNotRunning; a socket root only may open is not.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		return c, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return nil, fmt.Errorf("control: %w (the control socket is root's)", err)
	}
	return nil, fmt.Errorf("%w: %v", ErrNotRunning, err)
}

// exchange sends cmd with body and calls each for every line of the answer
// until the end line, whose error it returns (nil when ok; data then goes
// to out when out is non-nil). each is nil for a command that does not stream.
func (c *Client) exchange(ctx context.Context, cmd string, body any, out any, each func(json.RawMessage) error) error {
	conn, err := dial(ctx, c.socket())
	if err != nil {
		return err
	}
	defer conn.Close()
	// ctx's end unblocks a read or write at once; the connection's close
	// (deferred) is what ends a stream on the server's side.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("control: %s %s: %w", cmd, what, err)
	}
	req := Request{V: APIVersion, Cmd: cmd}
	if body != nil {
		if req.Body, err = json.Marshal(body); err != nil {
			return fail("encode", err)
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fail("encode", err)
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return fail("send", err)
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), 64<<20)
	for {
		if !sc.Scan() {
			err := sc.Err()
			if err == nil {
				err = errors.New("connection closed before the reply")
			}
			return fail("receive", err)
		}
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
			return fail("decode", err)
		}
		if resp.Event != nil {
			if each == nil {
				return fail("receive", errors.New("an event in the reply of a command that does not stream"))
			}
			if err := each(resp.Event); err != nil {
				return err
			}
			continue
		}
		if !resp.OK {
			return replyError(resp)
		}
		if out != nil && len(resp.Data) > 0 {
			if err := json.Unmarshal(resp.Data, out); err != nil {
				return fail("decode", err)
			}
		}
		return nil
	}
}

// call is a command that does not stream.
func call[R any](c *Client, ctx context.Context, cmd string, body any) (R, error) {
	var r R
	err := c.exchange(ctx, cmd, body, &r, nil)
	return r, err
}

// stream is a command answered by events of type E, each passed to fn.
func stream[E any](c *Client, ctx context.Context, cmd string, body any, fn func(E) error) error {
	return c.exchange(ctx, cmd, body, nil, func(raw json.RawMessage) error {
		var e E
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("control: %s: decode event: %w", cmd, err)
		}
		return fn(e)
	})
}

// done is a command whose reply carries no data.
func (c *Client) done(ctx context.Context, cmd string, body any) error {
	return c.exchange(ctx, cmd, body, nil, nil)
}

func (c *Client) Ping(ctx context.Context) (Pong, error) { return call[Pong](c, ctx, "ping", nil) }

func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	return call[[]Session](c, ctx, "sessions", nil)
}

func (c *Client) Session(ctx context.Context, sel string) (SessionDetail, error) {
	return call[SessionDetail](c, ctx, "session", SelArgs{Sel: sel})
}

func (c *Client) Kick(ctx context.Context, sel string) ([]Session, error) {
	return call[[]Session](c, ctx, "kick", SelArgs{Sel: sel})
}

func (c *Client) Stats(ctx context.Context) (StatsReply, error) {
	return call[StatsReply](c, ctx, "stats", nil)
}

func (c *Client) Radius(ctx context.Context) (RadiusReply, error) {
	return call[RadiusReply](c, ctx, "radius", nil)
}

func (c *Client) NAT(ctx context.Context) (NATReply, error) {
	return call[NATReply](c, ctx, "nat", nil)
}

func (c *Client) DialOuts(ctx context.Context) ([]DialOut, error) {
	return call[[]DialOut](c, ctx, "dialouts", nil)
}

func (c *Client) Leases(ctx context.Context) ([]Lease, error) {
	return call[[]Lease](c, ctx, "leases", nil)
}

func (c *Client) Interfaces(ctx context.Context) ([]Interface, error) {
	return call[[]Interface](c, ctx, "interfaces", nil)
}

func (c *Client) Routes(ctx context.Context) ([]Route, error) {
	return call[[]Route](c, ctx, "routes", nil)
}

func (c *Client) System(ctx context.Context) (System, error) {
	return call[System](c, ctx, "system", nil)
}

func (c *Client) Log(ctx context.Context, n int) ([]LogLine, error) {
	return call[[]LogLine](c, ctx, "log", LogArgs{N: n})
}

func (c *Client) LogPrevious(ctx context.Context) (PreviousLog, error) {
	return call[PreviousLog](c, ctx, "log.previous", nil)
}

func (c *Client) FollowLog(ctx context.Context, minLevel string, fn func(LogLine) error) error {
	return stream(c, ctx, "log.follow", FollowArgs{MinLevel: minLevel}, fn)
}

func (c *Client) Trace(ctx context.Context, f TraceFilter, fn func(TraceEvent) error) error {
	return stream(c, ctx, "trace", f, fn)
}

func (c *Client) Probe(ctx context.Context, r ProbeRequest, fn func(ProbeLine) error) error {
	return stream(c, ctx, "probe", r, fn)
}

func (c *Client) Users(ctx context.Context) ([]User, error) {
	return call[[]User](c, ctx, "users", nil)
}

func (c *Client) UserAdd(ctx context.Context, u UserSpec) error { return c.done(ctx, "user.add", u) }

func (c *Client) UserDelete(ctx context.Context, name string) error {
	return c.done(ctx, "user.delete", NameArgs{Name: name})
}

func (c *Client) UserPasswd(ctx context.Context, name, password string) error {
	return c.done(ctx, "user.passwd", PasswdArgs{Name: name, Password: password})
}

func (c *Client) ConfigShow(ctx context.Context, which ConfigWhich) (ConfigText, error) {
	return call[ConfigText](c, ctx, "config.show", ShowArgs{Which: which})
}

func (c *Client) ConfigCheck(ctx context.Context) (CheckResult, error) {
	return call[CheckResult](c, ctx, "config.check", nil)
}

func (c *Client) ConfigDiff(ctx context.Context) (string, error) {
	return call[string](c, ctx, "config.diff", nil)
}

func (c *Client) ConfigSet(ctx context.Context, key, value string) error {
	return c.done(ctx, "config.set", SetArgs{Key: key, Value: value})
}

func (c *Client) ConfigLoad(ctx context.Context, text string) (CheckResult, error) {
	return call[CheckResult](c, ctx, "config.load", TextArgs{Text: text})
}

func (c *Client) ConfigDiscard(ctx context.Context) error { return c.done(ctx, "config.discard", nil) }

func (c *Client) ConfigCommit(ctx context.Context, r CommitRequest) (CommitResult, error) {
	return call[CommitResult](c, ctx, "config.commit", r)
}

func (c *Client) ConfigConfirm(ctx context.Context) (CommitResult, error) {
	return call[CommitResult](c, ctx, "config.confirm", nil)
}

func (c *Client) ConfigRollback(ctx context.Context) (CommitResult, error) {
	return call[CommitResult](c, ctx, "config.rollback", nil)
}

func (c *Client) Reload(ctx context.Context) (ReloadResult, error) {
	return call[ReloadResult](c, ctx, "reload", nil)
}
