package ppp

import (
	"fmt"

	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/mschap"
)

// mppePolicy is the configured policy, tightened by the authenticator.
func (l *Link) mppePolicy() MPPEPolicy {
	p := l.cfg.MPPE
	if r := l.auth.result; r != nil && r.MPPERequired {
		p.Required = true
		if !p.Bits40 && !p.Bits56 && !p.Bits128 {
			p.Bits128 = true
		}
	}
	return p
}

// MPPE keys and ciphers (RFC 3078, RFC 3079) for a link whose CCP opened
// with MPPE both ways.

// mppeKeys returns the master keys of both directions from our point of
// view, or an error saying why there are none. The server takes them from
// the authenticator (RFC 2548 MS-MPPE-Send/Recv-Key or local derivation);
// the client derives them from its own MS-CHAP exchange (RFC 3079 §3.3, §2.4).
func (l *Link) mppeKeys() (send, recv []byte, err error) {
	a := &l.auth
	if l.cfg.Role == Server {
		r := a.result
		if r == nil || len(r.MPPESendKey) != 16 || len(r.MPPERecvKey) != 16 {
			return nil, nil, fmt.Errorf("no MPPE keys from %v authentication", a.proto)
		}
		return r.MPPESendKey, r.MPPERecvKey, nil
	}
	hh := mschap.HashNTPasswordHash(mschap.NTPasswordHash(l.cfg.Password))
	switch a.proto {
	case AuthMSCHAPv2:
		s, r := mppe.MasterKeys(hh, a.ntResponse, false)
		return s[:], r[:], nil
	case AuthMSCHAPv1:
		// RFC 3079 §2.4: one key for both directions.
		var c [8]byte
		copy(c[:], a.challenge)
		k := mppe.MasterKeyV1(hh, c)
		return k[:], k[:], nil
	}
	return nil, nil, fmt.Errorf("no MPPE keys from %v authentication", a.proto)
}

// startMPPE installs the ciphers negotiated by CCP.
func (l *Link) startMPPE() error {
	send, recv, err := l.mppeKeys()
	if err != nil {
		return err
	}
	c := l.ccpL
	enc, err := mppe.NewEncrypter(send, c.peerBits.Strongest(), c.peerBits&mppe.BitH != 0)
	if err != nil {
		return fmt.Errorf("encrypter: %w", err)
	}
	dec, err := mppe.NewDecrypter(recv, c.ourBits.Strongest(), c.ourBits&mppe.BitH != 0)
	if err != nil {
		return fmt.Errorf("decrypter: %w", err)
	}
	dec.CountInto(l.cfg.MPPECounters)
	l.tx.mu.Lock()
	l.tx.enc = enc
	l.tx.mu.Unlock()
	l.rx.dec = dec
	l.log.Debug(c.describe() + " compression enabled")
	if l.tracing() {
		l.traceNote("ccp", c.describe()+" compression enabled")
	}
	return nil
}

// mppeUsable says whether this link can have MPPE keys at all: only the
// MS-CHAP family yields them (pppd: "MPPE required, but MS-CHAP[v2] auth
// not performed").
func (l *Link) mppeUsable() bool {
	switch l.auth.proto {
	case AuthMSCHAPv1, AuthMSCHAPv2:
		return true
	}
	return l.cfg.Role == Server && l.auth.result != nil && len(l.auth.result.MPPESendKey) == 16
}
