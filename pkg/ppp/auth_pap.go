package ppp

import "fmt"

// PAP (RFC 1334 §2). The password crosses the link in clear, which is why
// the server refuses PAP unless the config lists it.
//
//	Authenticate-Request: Peer-ID-Length Peer-ID Passwd-Length Password
//	Authenticate-Ack/Nak: Msg-Length Message

// PAP codes (RFC 1334 §2.2).
const (
	papAuthReq = 1
	papAuthAck = 2
	papAuthNak = 3
)

type papRequest struct {
	user     string
	password []byte
}

func parsePAPRequest(data []byte) (papRequest, error) {
	if len(data) < 2 || 2+int(data[0]) > len(data) {
		return papRequest{}, fmt.Errorf("pap: authenticate-request: %w: bad peer-id length in %d bytes", ErrMalformed, len(data))
	}
	n := int(data[0])
	rest := data[1+n:]
	if 1+int(rest[0]) > len(rest) {
		return papRequest{}, fmt.Errorf("pap: authenticate-request: %w: password length %d in %d bytes", ErrMalformed, rest[0], len(rest)-1)
	}
	return papRequest{user: string(data[1 : 1+n]), password: rest[1 : 1+int(rest[0])]}, nil
}

func appendPAPRequest(dst []byte, user, password string) []byte {
	dst = append(dst, byte(len(user)))
	dst = append(dst, user...)
	dst = append(dst, byte(len(password)))
	return append(dst, password...)
}

// papMessage is the data of an Authenticate-Ack/Nak.
func papMessage(msg string) []byte {
	if len(msg) > 255 {
		msg = msg[:255]
	}
	return append([]byte{byte(len(msg))}, msg...)
}

func (l *Link) papServerInput(p Packet) {
	a := &l.auth
	if p.Code != papAuthReq {
		return
	}
	if a.done || a.lastReply != nil {
		// RFC 1334 §2.2.1: answer a retransmitted request again.
		if a.lastReply != nil && p.ID == a.lastReply.ID {
			l.sendPacket(ProtoPAP, *a.lastReply)
		}
		return
	}
	if a.pending {
		return
	}
	r, err := parsePAPRequest(p.Data)
	if err != nil {
		l.log.Debug(err.Error())
		return
	}
	l.startAuthenticate(&AuthRequest{Proto: AuthPAP, User: r.user, Password: append([]byte(nil), r.password...), Ident: p.ID}, p.ID)
}

// papClientSend sends (and re-sends every restart period) our
// Authenticate-Request (RFC 1334 §2.2.1).
func (l *Link) papClientSend() {
	a := &l.auth
	if a.done || l.dead {
		return
	}
	if a.sends >= maxConfigure {
		l.authFail("No response to PAP authenticate-requests")
		return
	}
	if a.sends == 0 {
		a.id++
	}
	a.sends++
	p := Packet{Code: papAuthReq, ID: a.id, Data: appendPAPRequest(nil, l.cfg.Username, l.cfg.Password)}
	a.lastReply = &p
	l.sendPacket(ProtoPAP, p)
	l.authArm(l.cfg.RestartTimeout, l.papClientSend)
}

func (l *Link) papClientInput(p Packet) {
	a := &l.auth
	if a.done || a.lastReply == nil || p.ID != a.lastReply.ID {
		return
	}
	msg := ""
	if len(p.Data) > 0 && int(p.Data[0]) <= len(p.Data)-1 {
		msg = printable(p.Data[1 : 1+int(p.Data[0])])
	}
	switch p.Code {
	case papAuthAck:
		l.log.Debug("PAP authentication succeeded")
		a.user = l.cfg.Username
		l.authSucceeded()
	case papAuthNak:
		l.authFail("PAP authentication failed: " + msg)
	}
}
