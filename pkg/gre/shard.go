package gre

import "golang.org/x/net/bpf"

// Sharding: a raw socket gets a copy of every GRE packet to the host, so
// n sockets opened side by side would each see every packet. ListenIPv4Shards
// gives socket k of n a classic BPF filter that keeps only the PPTP packets
// whose key's call ID is in shard k (Shard), and, on socket 0, everything
// that is not PPTP GRE (other GRE versions, runts), so that each packet is
// read exactly once and all of one call's packets by one reader, in order.

// Shard is the shard of n that receives the GRE packets of call ID id.
func Shard(id uint16, n int) int {
	if n <= 1 {
		return 0
	}
	return int(id) % n
}

// filterAccept is what a filter returns to keep a packet: the most bytes
// of it to keep, more than any IPv4 packet.
const filterAccept = 1 << 18

// shardFilter is the classic BPF program of socket k of n. It runs on the
// packet from its IPv4 header on (a raw socket's view): the header length
// is IHL words, and the enhanced GRE header of RFC 2637 §4.1 follows it:
// flags and version (K set, version 1), protocol 0x880B, payload length,
// then the key's low half, the call ID.
func shardFilter(k, n int) []bpf.Instruction {
	other := uint32(0)
	if k == 0 {
		other = filterAccept
	}
	return []bpf.Instruction{
		bpf.LoadMemShift{Off: 0},                                                           // 0: X = 4 * IHL
		bpf.LoadExtension{Num: bpf.ExtLen},                                                 // 1: A = packet length
		bpf.ALUOpX{Op: bpf.ALUOpSub},                                                       // 2: A = GRE length
		bpf.JumpIf{Cond: bpf.JumpLessThan, Val: 8, SkipTrue: 8},                            // 3: no call ID: to 12
		bpf.LoadIndirect{Off: 0, Size: 4},                                                  // 4: flags, version, protocol
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: uint32(FlagKey|MaskVersion)<<16 | 0xffff}, // 5: K bit, version, protocol
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(FlagKey|Version)<<16 | uint32(ProtocolPPP), SkipTrue: 5}, // 6: not PPTP: to 12
		bpf.LoadIndirect{Off: 6, Size: 2},                             // 7: A = call ID
		bpf.ALUOpConstant{Op: bpf.ALUOpMod, Val: uint32(n)},           // 8
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(k), SkipFalse: 1}, // 9
		bpf.RetConstant{Val: filterAccept},                            // 10: ours
		bpf.RetConstant{Val: 0},                                       // 11: another shard's
		bpf.RetConstant{Val: other},                                   // 12: not PPTP: socket 0's
	}
}
