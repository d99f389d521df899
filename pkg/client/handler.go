package client

import (
	"errors"

	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// handler receives the control connection's call events.
type handler struct{ c *Client }

func (h handler) OutgoingCall(*pptp.Conn, uint16, *pptp.OutgoingCallRequest) (uint16, error) {
	return 0, errors.New("client: the server cannot place calls")
}

func (h handler) SetLinkInfo(*pptp.Conn, uint16, uint32, uint32) {}

func (h handler) CallCleared(_ *pptp.Conn, id uint16) {
	if id != h.c.callID {
		return
	}
	h.c.clearedOnce.Do(func() { close(h.c.cleared) })
	// Dial sets link under tunMu; a Call-Disconnect-Notify may race it.
	h.c.tunMu.Lock()
	link := h.c.link
	h.c.tunMu.Unlock()
	if link != nil {
		link.Hangup("server disconnected the call")
	}
}
