package netcfg

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// LinkEvent is one RTM_NEWLINK/RTM_DELLINK notification.
type LinkEvent struct {
	Name    string
	Index   int
	Up      bool // administratively up (IFF_UP)
	Carrier bool // lower layer up (IFF_LOWER_UP): cable in, tap attached
	Deleted bool
}

func (e LinkEvent) String() string {
	state := "down"
	switch {
	case e.Deleted:
		state = "deleted"
	case e.Up && e.Carrier:
		state = "up"
	case e.Up:
		state = "no-carrier"
	}
	return fmt.Sprintf("%s(%d) %s", e.Name, e.Index, state)
}

// LinkWatcher is a subscription to link notifications (RTMGRP_LINK).
type LinkWatcher struct{ c *rtnetlink.Conn }

// NewLinkWatcher subscribes in the calling thread's namespace; events that
// happen after it returns are delivered by Run.
func NewLinkWatcher() (*LinkWatcher, error) {
	c, err := rtnetlink.Dial(&netlink.Config{Groups: unix.RTMGRP_LINK})
	if err != nil {
		return nil, fmt.Errorf("netcfg: watch links: %w", err)
	}
	return &LinkWatcher{c: c}, nil
}

// Run calls fn for every link change until ctx ends (then it returns nil)
// and closes the subscription. fn runs on Run's goroutine, in kernel order.
func (w *LinkWatcher) Run(ctx context.Context, fn func(LinkEvent)) error {
	stop := context.AfterFunc(ctx, func() { w.c.Close() })
	defer func() {
		if stop() {
			w.c.Close()
		}
	}()
	for {
		msgs, nlmsgs, err := w.c.Receive()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// ENOBUFS: the kernel dropped notifications; keep going, the
			// next event carries the full state of its link.
			if errors.Is(err, unix.ENOBUFS) {
				continue
			}
			return fmt.Errorf("netcfg: watch links: %w", err)
		}
		for i, m := range msgs {
			lm, ok := m.(*rtnetlink.LinkMessage)
			if !ok {
				continue
			}
			ev := LinkEvent{
				Index:   int(lm.Index),
				Up:      lm.Flags&unix.IFF_UP != 0,
				Carrier: lm.Flags&unix.IFF_LOWER_UP != 0,
				Deleted: nlmsgs[i].Header.Type == unix.RTM_DELLINK,
			}
			if lm.Attributes != nil {
				ev.Name = lm.Attributes.Name
			}
			fn(ev)
		}
	}
}

// WatchLinks is NewLinkWatcher then Run.
func WatchLinks(ctx context.Context, fn func(LinkEvent)) error {
	w, err := NewLinkWatcher()
	if err != nil {
		return err
	}
	return w.Run(ctx, fn)
}

// LinkState returns the current state of interface name as a LinkEvent.
func LinkState(name string) (LinkEvent, error) {
	var ev LinkEvent
	err := withLink(name, func(_ *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		ev = LinkEvent{Name: name, Index: int(lm.Index),
			Up: lm.Flags&unix.IFF_UP != 0, Carrier: lm.Flags&unix.IFF_LOWER_UP != 0}
		return nil
	})
	return ev, err
}
