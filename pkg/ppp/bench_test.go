package ppp

import (
	"testing"
)

func BenchmarkDecodeFrame(b *testing.B) {
	f := AppendFrame(nil, ProtoCompDG, make([]byte, 1400), true, true)
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		if _, _, err := DecodeFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

func benchConfigs(mode string) (Config, Config) {
	scfg, ccfg := serverConfig(), clientConfig()
	switch mode {
	case "plain":
		scfg.MPPE, ccfg.MPPE = MPPEPolicy{}, MPPEPolicy{}
	case "stateful":
		scfg.MPPE.AllowStateful, scfg.MPPE.PreferStateful = true, true
		ccfg.MPPE.AllowStateful, ccfg.MPPE.PreferStateful = true, true
	}
	return scfg, ccfg
}

// BenchmarkWriteIP is the send path: encrypt and frame one 1400-byte packet.
func BenchmarkWriteIP(b *testing.B) {
	for _, mode := range []string{"plain", "stateless", "stateful"} {
		b.Run(mode, func(b *testing.B) {
			srv, _ := upPairB(b, mode)
			srv.setTap(func([]byte) {})
			pkt := ipPacket(1400, 1)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if err := srv.link.WriteIP(pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoundTrip is WriteIP on one side straight into Input on the
// other: encrypt, frame, decode, decrypt, deliver.
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []string{"plain", "stateless", "stateful"} {
		b.Run(mode, func(b *testing.B) {
			srv, cli := upPairB(b, mode)
			got := 0
			cli.setIPTap(func([]byte) { got++ })
			srv.setTap(func(f []byte) { cli.link.Input(f) })
			pkt := ipPacket(1400, 1)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if err := srv.link.WriteIP(pkt); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got == 0 {
				b.Fatal("nothing delivered")
			}
		})
	}
}

// upPairB brings a pair up for a benchmark.
func upPairB(b *testing.B, mode string) (srv, cli *end) {
	scfg, ccfg := benchConfigs(mode)
	srv, cli = pair(b, scfg, ccfg)
	waitUp(b, srv, "server")
	waitUp(b, cli, "client")
	return srv, cli
}
