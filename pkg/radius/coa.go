package radius

import (
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc3576"

	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

// Change is what a CoA-Request changes on a session (RFC 5176 §3.1); nil
// fields stay as they are.
type Change struct {
	// RateLimit is the new rate limit, from Mikrotik-Rate-Limit or
	// WISPr-Bandwidth-Max-Up/Down as in an Access-Accept (the zero Limit
	// when both WISPr values are 0: no limit).
	RateLimit *ratelimit.Limit
	// SessionTimeout is the new Session-Timeout (RFC 2865 §5.27), counted
	// from the change; 0 removes it.
	SessionTimeout *time.Duration
}

// coaVendorAttrs are the vendor attributes a CoA-Request may change, by
// vendor and type.
var coaVendorAttrs = map[uint32]map[byte]bool{
	mikrotikVendor: {8: true},          // Mikrotik-Rate-Limit
	wisprVendor:    {7: true, 8: true}, // WISPr-Bandwidth-Max-Up, -Down
}

// coa acts on a CoA-Request (RFC 5176 §3.1): it names a session as a
// Disconnect-Request does and changes its rate limit and Session-Timeout.
// A request is done whole or not at all: any other attribute, or a vendor
// attribute this box does not change, is NAKed Unsupported-Attribute (401)
// before anything changes; a value that does not parse Invalid-Request
// (404); one that changes nothing Missing-Attribute (402); no such session
// Session-Context-Not-Found (503).
func (d *DAE) coa(p *radius.Packet) (radius.Code, rfc3576.ErrorCause) {
	nak := radius.CodeCoANAK
	if d.cfg.ChangeCall == nil || d.cfg.ChangeUser == nil {
		// RFC 5176 §3.2: a NAS that does not support CoA NAKs it.
		return nak, rfc3576.ErrorCause_Value_UnsupportedService
	}
	for _, a := range p.Attributes {
		switch {
		case daeAttrs[a.Type], a.Type == rfc2865.SessionTimeout_Type:
		case a.Type == rfc2865.VendorSpecific_Type:
			if !coaVendorOK(a.Attribute) {
				return nak, rfc3576.ErrorCause_Value_UnsupportedAttribute
			}
		default:
			return nak, rfc3576.ErrorCause_Value_UnsupportedAttribute
		}
	}
	var c Change
	if v, err := rfc2865.SessionTimeout_Lookup(p); err == nil {
		to := time.Duration(v) * time.Second
		c.SessionTimeout = &to
	} else if err != radius.ErrNoAttribute {
		return nak, rfc3576.ErrorCause_Value_InvalidRequest
	}
	switch s, err := rateLimit(p); {
	case err != nil:
		return nak, rfc3576.ErrorCause_Value_InvalidRequest
	case s != "":
		l, err := ratelimit.Parse(s)
		if err != nil {
			return nak, rfc3576.ErrorCause_Value_InvalidRequest
		}
		c.RateLimit = &l
	case hasVSA(p):
		// WISPr bandwidth of 0 both ways: no limit.
		c.RateLimit = &ratelimit.Limit{}
	}
	if c.RateLimit == nil && c.SessionTimeout == nil {
		return nak, rfc3576.ErrorCause_Value_MissingAttribute
	}
	cause := d.act(p,
		func(id uint16) bool { return d.cfg.ChangeCall(id, c) },
		func(user string) int { return d.cfg.ChangeUser(user, c) })
	if cause != 0 {
		return nak, cause
	}
	return radius.CodeCoAACK, 0
}

// coaVendorOK says whether every sub-attribute of a Vendor-Specific value
// is one coa changes (RFC 2865 §5.26 layout).
func coaVendorOK(a radius.Attribute) bool {
	id, v, err := radius.VendorSpecific(a)
	types := coaVendorAttrs[id]
	if err != nil || types == nil || len(v) == 0 {
		return false
	}
	for len(v) > 0 {
		if len(v) < 2 || int(v[1]) < 2 || int(v[1]) > len(v) || !types[v[0]] {
			return false
		}
		v = v[v[1]:]
	}
	return true
}

func hasVSA(p *radius.Packet) bool {
	_, ok := p.Lookup(rfc2865.VendorSpecific_Type)
	return ok
}
