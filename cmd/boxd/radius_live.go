package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius"
)

// liveAAA is what the session server checks logins with and reports
// sessions to for its whole life. A reload that changes [radius] swaps the
// setup behind it (config.RadiusLive) without touching a session: new
// logins go to the new servers, and each session's accounting stays with
// the setup whose servers let it in (its Stop goes where its Start went).
type liveAAA struct {
	auth atomic.Pointer[ppp.Authenticator]

	mu      sync.Mutex
	cur     *aaaSetup
	old     []retired                  // replaced setups that may still own logins or sessions
	started map[acctKey]aaa.Accounting // where each running session's Start went
	now     func() time.Time           // time.Now; tests set it
}

// retired is a replaced setup and when it was replaced.
type retired struct {
	a  *aaaSetup
	at time.Time
}

// acctKey names a session to accounting: its login's result and its call.
type acctKey struct {
	res  *ppp.AuthResult
	call uint16
}

// retireAfter is how long a replaced setup is asked whether it let a login
// in: longer than a login takes from the Access-Accept to the session's
// Start (the login timeout).
const retireAfter = 2 * time.Minute

func newLiveAAA(a *aaaSetup) *liveAAA {
	l := &liveAAA{cur: a, started: map[acctKey]aaa.Accounting{}, now: time.Now}
	l.auth.Store(&a.auth)
	return l
}

func (l *liveAAA) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	return (*l.auth.Load()).Authenticate(ctx, req)
}

// swap makes a the setup new logins go to.
func (l *liveAAA) swap(a *aaaSetup) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.old = append(l.old, retired{a: l.cur, at: l.now()})
	l.cur = a
	l.auth.Store(&a.auth)
	l.prune()
}

// Start implements aaa.Accounting: the setup that let r's login in (a
// replaced one, when the swap came between the Accept and the Start), else
// the current one, accounts the session.
func (l *liveAAA) Start(r aaa.Record, snap func() aaa.Record) {
	l.mu.Lock()
	acct := l.cur.acct
	for _, o := range l.old {
		if o.a.owns != nil && o.a.owns(r.Result) {
			acct = o.a.acct
		}
	}
	if acct != nil {
		l.started[acctKey{r.Result, r.CallID}] = acct
	}
	l.mu.Unlock()
	if acct != nil {
		acct.Start(r, snap)
	}
}

// Stop implements aaa.Accounting: to where the session's Start went.
func (l *liveAAA) Stop(r aaa.Record) {
	k := acctKey{r.Result, r.CallID}
	l.mu.Lock()
	acct := l.started[k]
	delete(l.started, k)
	l.prune()
	l.mu.Unlock()
	if acct != nil {
		acct.Stop(r)
	}
}

// prune forgets replaced setups that own no running session and were
// replaced long enough ago that no login of theirs is still coming up.
func (l *liveAAA) prune() {
	keep := l.old[:0]
	for _, o := range l.old {
		if l.now().Sub(o.at) < retireAfter || l.accounting(o.a) {
			keep = append(keep, o)
		}
	}
	clear(l.old[len(keep):])
	l.old = keep
}

// accounting reports whether a running session is accounted by a.
func (l *liveAAA) accounting(a *aaaSetup) bool {
	if a.acct == nil {
		return false
	}
	for _, acct := range l.started {
		if acct == a.acct {
			return true
		}
	}
	return false
}

// current is the setup new logins go to.
func (l *liveAAA) current() *aaaSetup {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// stop waits for the replaced setups' accounting, then stops the current
// one (its Stop records and Accounting-Off).
func (l *liveAAA) stop() {
	l.mu.Lock()
	old, cur := l.old, l.cur
	l.mu.Unlock()
	for _, o := range old {
		o.a.drain()
	}
	cur.stop()
}

// radiusClient is the RADIUS client new logins go to (nil without
// [radius]); a reload may swap it.
func (b *box) radiusClient() *radius.Client {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rc
}
