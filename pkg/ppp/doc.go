// Package ppp is the Point-to-Point Protocol (RFC 1661) as PPTP carries it
// (RFC 2637 §4): whole frames over GRE, without HDLC flags, escaping or FCS.
// One Link is one PPP session, either role.
//
// It speaks LCP (RFC 1661, RFC 1570) with an Echo keepalive; authentication
// by PAP (RFC 1334), CHAP-MD5 (RFC 1994), MS-CHAPv1 (RFC 2433) and
// MS-CHAPv2 (RFC 2759); CCP (RFC 1962) negotiating MPPE only (RFC 3078,
// keys by RFC 3079), stateless or stateful, every other compression
// rejected; and IPCP (RFC 1332) with the DNS addresses of RFC 1877. Other
// protocols are Protocol-Rejected. Control packets are logged at Debug level
// the way pppd logs them ("rcvd [LCP ConfReq id=0x1 <mru 1400> ...]").
//
// # Roles
//
// A Server link (pptpd's side) asks the peer to authenticate with one of
// Config.Auth, in preference order, has Config.Authenticator judge the
// credentials (the interface is declared here, by its consumer; pkg/aaa
// implements it), takes the addresses from Config.Network once the peer is
// known, and gives them to the peer in IPCP. Its MPPE keys come from the
// AuthResult. A Client link (pptp-linux's side) authenticates itself with
// Config.Username and Config.Password, checks the MS-CHAPv2 authenticator
// response, derives its own MPPE keys and takes the address the server
// gives it. Config.MPPE sets what either role accepts; an AuthResult with
// MPPERequired tightens it for that link.
//
// # Files
//
// Each part of the protocol is in one place; the Link type ties them
// together.
//
//	packet.go        control packet and option codec (Packet, Option, Code)
//	frame.go         frame codec: protocol field, ACFC/PFC (Proto, DecodeFrame)
//	fsm.go           the RFC 1661 §4 automaton shared by LCP, IPCP and CCP: states,
//	                 the layer interface, administrative and timer events, actions
//	fsm_recv.go      the automaton's receive events (RCR, RCA, RCN, RTR, RTA, RUC, RXJ)
//	config.go        what a caller gives and gets: Role, Config, MPPEPolicy,
//	                 NetworkParams, UpInfo
//	link.go          the Link: constructor, Start/Close/Hangup, Input's dispatch,
//	                 the lock and its callback queue, phases, termination
//	lcp.go           LCP options and the link's LCP events (up, down, finished)
//	lcp_echo.go      LCP's other codes: Echo keepalive, Protocol-Reject, Discard,
//	                 Identification, Time-Remaining
//	authenticator.go AuthProto, AuthRequest, AuthResult and the Authenticator interface
//	auth.go          the authentication phase, both roles: start, timers, the
//	                 authenticator's verdict, Success/Failure replies, re-authentication
//	auth_pap.go      PAP, both roles
//	auth_chap.go     CHAP-MD5, MS-CHAPv1 and MS-CHAPv2, both roles
//	ccp.go           CCP: MPPE negotiated per direction, Reset-Request/Reset-Ack
//	ccp_mppe.go      the link's MPPE policy, its keys, and the start of the ciphers
//	ipcp.go          IPCP: addresses and DNS
//	network.go       the network phase: which NCPs open in which order, when the
//	                 data path opens and OnUp runs
//	data.go          the data path: IP and MPPE frames in (Input), WriteIP and WriteIPAt out
//	stats.go         the link's counters (Stats, DropReason)
//	log.go           pppd-style rendering of control packets for the Debug log
//
// # Concurrency
//
// Input must be called from one goroutine at a time: the lower layer's
// receive loop. It may run concurrently with every other method.
//
// Control traffic is serialised by one mutex per link: Input of control
// frames, Start, Close, Hangup and Phase take it, and so do the restart,
// echo and authentication timers and the authenticator's verdict, so all of
// these are safe from any goroutine. Send/SendAt of control frames, OnUp and
// OnDown arise under the mutex but are queued and called in order after it
// is released, by whichever goroutine releases it (Input's, a timer's, the
// authenticator's, or a caller of Start, Close or Hangup), with no lock
// held: OnUp and OnDown may call back into the Link. OnUp runs at most
// once, OnDown exactly once when the link ends.
//
// The data path holds the mutex briefly or not at all. Input of an IP or
// MPPE frame holds it only to look at the link's state and decrypt, then
// calls OnIP on Input's goroutine with no lock held; OnIP must not retain
// the packet, which with Config.InputInPlace lies in the frame passed to
// Input. WriteIP and WriteIPAt are safe concurrently with each other and with
// everything above: they take only the transmit lock, and call SendAt with
// it held (which keeps stateful MPPE packets in order), so SendAt may be
// called from two goroutines at once and must never call back into the
// Link. Stats and PeerMRU read atomics and are safe at any time.
//
// Config.Authenticator's Authenticate, then Config.Network, run in a
// goroutine of their own for each login, with a context that is cancelled
// when the link goes down; a verdict that arrives after that is dropped.
//
// # Use
//
// pkg/session runs one Server link per PPTP call: the call's GRE receive
// loop passes each payload to Input (with InputInPlace); SendAt writes the
// GRE header into Config.Headroom (gre.MaxHeaderLen) in front of the frame;
// Network assigns the peer's address (from the pool, or as RADIUS says);
// OnUp starts accounting and the session's limits; OnIP checks the source
// address and writes to the TUN device; the TUN reader sends with
// WriteIPAt, leaving gre.MaxHeaderLen+DataHeadroom in front of each packet
// so that nothing is copied, and fragments (or answers Fragmentation
// Needed) by PeerMRU. The session calls Hangup when the PPTP call is
// cleared or the link is not up in time, and Close to end a session itself
// (limits, an administrator's disconnect); OnDown ends the call.
//
// pkg/client runs one Client link over its own PPTP call the same way: it
// Starts the link once the call is connected, waits for OnUp, and gives the
// caller WriteIP, WriteIPAt and OnIP.
package ppp
