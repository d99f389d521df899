package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/cli"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// The config commands: changes are staged in boxd's candidate config and
// applied by commit.

func (c *console) configShow(ctx context.Context, call *cli.Call) error {
	which := control.Running
	switch a := call.Arg(0); a {
	case "", "running":
	case "candidate":
		which = control.Candidate
	default:
		return &cli.UsageError{Msg: fmt.Sprintf("config show: running or candidate, not %q", a)}
	}
	t, err := c.api.ConfigShow(ctx, which)
	return reply(call, t, err, func(w io.Writer, t control.ConfigText) error {
		fmt.Fprintf(w, "# %s config: %s\n", t.Which, t.Path)
		_, err := io.WriteString(w, t.Text)
		if !strings.HasSuffix(t.Text, "\n") {
			fmt.Fprintln(w)
		}
		return err
	})
}

// refused is a check that failed as an error: the message and each error
// as a detail line, so boxctl exits "refused".
func refused(r control.CheckResult) error {
	return &control.Error{Code: control.CodeRefused, Message: "the candidate config does not validate", Details: r.Errors}
}

func (c *console) configCheck(ctx context.Context, call *cli.Call) error {
	r, err := c.api.ConfigCheck(ctx)
	if err != nil {
		return err
	}
	if call.Flag(FlagJSON) {
		if err := printJSON(call.Out, r); err != nil {
			return err
		}
	}
	if !r.OK {
		return refused(r)
	}
	return say(call, "the candidate config is valid")
}

func (c *console) configDiff(ctx context.Context, call *cli.Call) error {
	d, err := c.api.ConfigDiff(ctx)
	return reply(call, d, err, func(w io.Writer, d string) error {
		if d == "" {
			_, err := fmt.Fprintln(w, "no staged changes")
			return err
		}
		_, err := io.WriteString(w, d)
		return err
	})
}

func (c *console) configSet(ctx context.Context, call *cli.Call) error {
	if err := c.api.ConfigSet(ctx, call.Arg(0), call.Arg(1)); err != nil {
		return err
	}
	return say(call, "%s = %s; %s", call.Arg(0), call.Arg(1), staged)
}

func (c *console) configEdit(ctx context.Context, call *cli.Call) error {
	cur, err := c.api.ConfigShow(ctx, control.Candidate)
	if err != nil {
		return err
	}
	text, err := c.local.Edit(ctx, cur.Text)
	if err != nil {
		return err
	}
	if text == cur.Text {
		return say(call, "no change")
	}
	r, err := c.api.ConfigLoad(ctx, text)
	if err != nil {
		return err
	}
	if call.Flag(FlagJSON) {
		printJSON(call.Out, r)
	}
	if !r.OK {
		return refused(r)
	}
	return say(call, "candidate replaced: `config diff` shows the changes, `config commit` applies them")
}

func (c *console) configCommit(ctx context.Context, call *cli.Call) error {
	var req control.CommitRequest
	if call.Path[len(call.Path)-1] == "confirmed" {
		m, err := strconv.ParseFloat(call.Arg(0), 64)
		if err != nil || m <= 0 || m > 24*60 {
			return &cli.UsageError{Msg: fmt.Sprintf("commit confirmed: minutes is a number from 1 to 1440, not %q", call.Arg(0))}
		}
		req.ConfirmWithin = time.Duration(m * float64(time.Minute))
	}
	r, err := c.api.ConfigCommit(ctx, req)
	return reply(call, r, err, printCommit)
}

// commitLike is confirm or rollback: an API call answered by a CommitResult.
func (c *console) commitLike(f func(context.Context) (control.CommitResult, error)) func(context.Context, *cli.Call) error {
	return func(ctx context.Context, call *cli.Call) error {
		r, err := f(ctx)
		return reply(call, r, err, printCommit)
	}
}

func printCommit(w io.Writer, r control.CommitResult) error {
	switch {
	case r.Confirmed:
		fmt.Fprintf(w, "commit confirmed: %s stays\n", r.Path)
	case !r.Changed:
		fmt.Fprintln(w, "nothing to commit")
		return nil
	default:
		fmt.Fprintf(w, "written to %s\n", r.Path)
	}
	if len(r.Applied) > 0 {
		fmt.Fprintf(w, "applied live: %s\n", strings.Join(r.Applied, ", "))
	}
	if len(r.Restart) > 0 {
		fmt.Fprintf(w, "needs a restart: %s\n", strings.Join(r.Restart, ", "))
	}
	for _, s := range r.Ended {
		fmt.Fprintf(w, "ended session %s of %s\n", sessionID(s), s.User)
	}
	if !r.RevertAt.IsZero() {
		fmt.Fprintf(w, "rolls back at %s unless `config confirm`\n", r.RevertAt.Local().Format(time.TimeOnly))
	}
	return nil
}

func (c *console) reload(ctx context.Context, call *cli.Call) error {
	r, err := c.api.Reload(ctx)
	return reply(call, r, err, func(w io.Writer, r control.ReloadResult) error {
		fmt.Fprintf(w, "reloaded %s\n", r.Config)
		if len(r.Applied) > 0 {
			fmt.Fprintf(w, "applied live: %s\n", strings.Join(r.Applied, ", "))
		}
		if len(r.Restart) > 0 {
			fmt.Fprintf(w, "needs a restart: %s\n", strings.Join(r.Restart, ", "))
		}
		return nil
	})
}

func (c *console) saveToUSB(ctx context.Context, call *cli.Call) error {
	t, err := c.api.ConfigShow(ctx, control.Running)
	if err != nil {
		return err
	}
	where, err := c.local.SaveToUSB(ctx, t)
	if err != nil {
		return err
	}
	return say(call, "running config written to %s", where)
}

// confirmThen asks question and runs f on a yes. Without a terminal to
// ask on, it refuses.
func (c *console) confirmThen(question string, f func(context.Context) error) func(context.Context, *cli.Call) error {
	return func(ctx context.Context, call *cli.Call) error {
		if call.Ask == nil {
			return control.Errorf(control.CodeRefused, "%s needs a confirmation on the console", strings.Join(call.Path, " "))
		}
		a, err := call.Ask(question + " [y/N] ")
		if err != nil {
			return err
		}
		if a = strings.ToLower(strings.TrimSpace(a)); a != "y" && a != "yes" {
			return say(call, "cancelled")
		}
		return f(ctx)
	}
}

// printJSONLine writes v as one line of JSON: a stream's event.
func printJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
