package control

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
)

// The bodies of the commands whose arguments are not an API type already
// (TraceFilter, ProbeRequest, UserSpec, CommitRequest are sent as they are).

// SelArgs is the body of session and kick: a user, session id or address.
type SelArgs struct {
	Sel string `json:"sel"`
}

// LogArgs is the body of log: the last N lines (0: all boxd keeps).
type LogArgs struct {
	N int `json:"n,omitempty"`
}

// FollowArgs is the body of log.follow.
type FollowArgs struct {
	MinLevel string `json:"min_level,omitempty"`
}

// NameArgs is the body of user.delete.
type NameArgs struct {
	Name string `json:"name"`
}

// PasswdArgs is the body of user.passwd.
type PasswdArgs struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// ShowArgs is the body of config.show ("running" if absent).
type ShowArgs struct {
	Which ConfigWhich `json:"which,omitempty"`
}

// SetArgs is the body of config.set.
type SetArgs struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TextArgs is the body of config.load.
type TextArgs struct {
	Text string `json:"text"`
}

// endpoint answers one command from its body.
type endpoint func(ctx context.Context, body json.RawMessage) (any, error)

// NewHandler serves api: each command decodes its body into the method's
// arguments and calls it. A body that does not decode, or an unknown
// command, is CodeBadRequest.
func NewHandler(api API) Handler {
	eps := endpoints(api)
	return func(ctx context.Context, req Request) (any, error) {
		ep, ok := eps[req.Cmd]
		if !ok {
			return nil, &Error{Code: CodeBadRequest, Message: "unknown command " + quote(req.Cmd), Details: []string{"commands: " + commandNames(eps)}}
		}
		return ep(ctx, req.Body)
	}
}

// endpoints are the commands of the API and the method each calls.
func endpoints(api API) map[string]endpoint {
	return map[string]endpoint{
		"ping":     none(api.Ping),
		"sessions": none(api.Sessions),
		"session": with(func(ctx context.Context, a SelArgs) (SessionDetail, error) {
			return api.Session(ctx, a.Sel)
		}),
		"kick": with(func(ctx context.Context, a SelArgs) ([]Session, error) {
			return api.Kick(ctx, a.Sel)
		}),
		"stats":      none(api.Stats),
		"radius":     none(api.Radius),
		"nat":        none(api.NAT),
		"leases":     none(api.Leases),
		"dialouts":   none(api.DialOuts),
		"interfaces": none(api.Interfaces),
		"routes":     none(api.Routes),
		"system":     none(api.System),
		"log": with(func(ctx context.Context, a LogArgs) ([]LogLine, error) {
			if a.N < 0 {
				return nil, Errorf(CodeBadRequest, "log: n must not be negative")
			}
			return api.Log(ctx, a.N)
		}),
		"log.previous": none(api.LogPrevious),
		"log.follow": streamOf(func(ctx context.Context, a FollowArgs, fn func(LogLine) error) error {
			return api.FollowLog(ctx, a.MinLevel, fn)
		}),
		"trace": streamOf(func(ctx context.Context, f TraceFilter, fn func(TraceEvent) error) error {
			if (f.User == "") == (f.Peer == "") {
				return Errorf(CodeBadRequest, "trace: give a user or a peer address")
			}
			return api.Trace(ctx, f, fn)
		}),
		"probe": streamOf(func(ctx context.Context, r ProbeRequest, fn func(ProbeLine) error) error {
			if r.Kind != "ping" && r.Kind != "traceroute" {
				return Errorf(CodeBadRequest, "probe: kind is ping or traceroute, not %s", quote(r.Kind))
			}
			if r.Target == "" {
				return Errorf(CodeBadRequest, "probe: no target")
			}
			return api.Probe(ctx, r, fn)
		}),
		"users":    none(api.Users),
		"user.add": do(api.UserAdd),
		"user.delete": do(func(ctx context.Context, a NameArgs) error {
			return api.UserDelete(ctx, a.Name)
		}),
		"user.passwd": do(func(ctx context.Context, a PasswdArgs) error {
			return api.UserPasswd(ctx, a.Name, a.Password)
		}),
		"config.show": with(func(ctx context.Context, a ShowArgs) (ConfigText, error) {
			switch a.Which {
			case "":
				a.Which = Running
			case Running, Candidate:
			default:
				return ConfigText{}, Errorf(CodeBadRequest, "config.show: which is running or candidate, not %s", quote(string(a.Which)))
			}
			return api.ConfigShow(ctx, a.Which)
		}),
		"config.check": none(api.ConfigCheck),
		"config.diff":  none(api.ConfigDiff),
		"config.set": do(func(ctx context.Context, a SetArgs) error {
			if a.Key == "" {
				return Errorf(CodeBadRequest, "config.set: no key")
			}
			return api.ConfigSet(ctx, a.Key, a.Value)
		}),
		"config.load": with(func(ctx context.Context, a TextArgs) (CheckResult, error) {
			return api.ConfigLoad(ctx, a.Text)
		}),
		"config.discard": do(func(ctx context.Context, _ struct{}) error { return api.ConfigDiscard(ctx) }),
		"config.commit": with(func(ctx context.Context, r CommitRequest) (CommitResult, error) {
			if r.ConfirmWithin < 0 {
				return CommitResult{}, Errorf(CodeBadRequest, "config.commit: confirm_within_ns must not be negative")
			}
			return api.ConfigCommit(ctx, r)
		}),
		"config.confirm":  none(api.ConfigConfirm),
		"config.rollback": none(api.ConfigRollback),
		"reload":          none(api.Reload),
	}
}

// none is a command without arguments.
func none[R any](f func(context.Context) (R, error)) endpoint {
	return func(ctx context.Context, _ json.RawMessage) (any, error) { return f(ctx) }
}

// with is a command whose body decodes into A.
func with[A, R any](f func(context.Context, A) (R, error)) endpoint {
	return func(ctx context.Context, body json.RawMessage) (any, error) {
		var a A
		if err := decodeBody(body, &a); err != nil {
			return nil, err
		}
		return f(ctx, a)
	}
}

// do is a command whose reply is only ok or an error.
func do[A any](f func(context.Context, A) error) endpoint {
	return with(func(ctx context.Context, a A) (any, error) { return nil, f(ctx, a) })
}

// streamOf is a command answered by events of type E.
func streamOf[A, E any](f func(context.Context, A, func(E) error) error) endpoint {
	return func(ctx context.Context, body json.RawMessage) (any, error) {
		var a A
		if err := decodeBody(body, &a); err != nil {
			return nil, err
		}
		return Stream(func(ctx context.Context, send func(any) error) error {
			return f(ctx, a, func(e E) error { return send(e) })
		}), nil
	}
}

// decodeBody decodes a command's body; an absent body (or null) leaves v
// zero. Unknown fields are ignored: a newer client of the same APIVersion
// may send fields an additive change to this package added.
func decodeBody(body json.RawMessage, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(CodeBadRequest, "bad body: %v", err)
	}
	return nil
}

func commandNames(eps map[string]endpoint) string {
	names := make([]string, 0, len(eps))
	for n := range eps {
		names = append(names, n)
	}
	sort.Strings(names)
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// quote quotes a name from the wire for an error message, bounded: a
// request line may be up to maxLine bytes.
func quote(s string) string {
	b, _ := json.Marshal(s)
	if len(b) > 64 {
		b = append(b[:60:60], "...\""...)
	}
	return string(b)
}
