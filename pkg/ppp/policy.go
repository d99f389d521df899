package ppp

// ParseMPPEPolicy maps the config / pptpc spelling of an MPPE policy to a
// policy: mppe is "require-128" (pppd require-mppe-128), "require"
// (require-mppe: 40, 56 or 128 bits), "allow" (encrypt when the peer
// agrees) or "off" (nomppe); ok is false for anything else.
//
// stateful is pppd's mppe-stateful: stateful is accepted when the peer asks
// for it, stateless is still what we ask for. preferStateful asks for
// stateful, and implies stateful. Asking for stateful is a separate choice
// because a pppd peer without mppe-stateful answers it by closing the link
// ("Refusing MPPE stateful mode offered by peer"), as
// qemu/e2e/stateful_test.go shows.
func ParseMPPEPolicy(mppe string, stateful, preferStateful bool) (pol MPPEPolicy, ok bool) {
	pol = MPPEPolicy{
		AllowStateful:  stateful || preferStateful,
		PreferStateful: preferStateful,
	}
	switch mppe {
	case "require-128":
		pol.Required, pol.Bits128 = true, true
	case "require":
		pol.Required, pol.Bits40, pol.Bits56, pol.Bits128 = true, true, true, true
	case "allow":
		// Allowed makes the link negotiate CCP and ask for MPPE, taking
		// cleartext only when the peer refuses (docs/config.md); without
		// it the key lengths alone left CCP rejected and every "allow"
		// link unencrypted.
		pol.Allowed, pol.Bits40, pol.Bits56, pol.Bits128 = true, true, true, true
	case "off":
	default:
		return MPPEPolicy{}, false
	}
	return pol, true
}
