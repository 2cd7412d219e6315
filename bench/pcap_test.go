package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// trimDTMFPcap writes a copy of one of SIPp's RFC 4733 pcaps (classic
// little-endian pcap, Ethernet/IPv4/UDP/RTP) without its first packet,
// the one with duration 0, and with the marker bit on the new first
// packet: the same key press as a phone that sends its first event packet
// after one packet time. It is the control for diago's DTMF reader, which
// drops events whose first packet has duration 0.
func trimDTMFPcap(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	const ghdr, rhdr, rtpOff = 24, 16, 14 + 20 + 8
	if len(data) < ghdr || binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 {
		return fmt.Errorf("trim %s: %w", src, errNotPcap)
	}
	var recs [][]byte // each record, header included
	for off := ghdr; off < len(data); {
		if len(data)-off < rhdr {
			return fmt.Errorf("trim %s: %w", src, errNotPcap)
		}
		n := int(binary.LittleEndian.Uint32(data[off+8:]))
		if len(data)-off-rhdr < n || n < rtpOff+16 {
			return fmt.Errorf("trim %s: record at %d: %w", src, off, errNotPcap)
		}
		recs = append(recs, data[off:off+rhdr+n])
		off += rhdr + n
	}
	if len(recs) < 2 {
		return fmt.Errorf("trim %s: %d packets: %w", src, len(recs), errNotPcap)
	}
	if d := binary.BigEndian.Uint16(recs[0][rhdr+rtpOff+14:]); d != 0 {
		return fmt.Errorf("trim %s: first event packet has duration %d, not 0", src, d)
	}
	out := append([]byte(nil), data[:ghdr]...)
	for i, r := range recs[1:] {
		r = append([]byte(nil), r...)
		if i == 0 {
			r[rhdr+rtpOff+1] |= 0x80 // marker: start of the event
		}
		out = append(out, r...)
	}
	return os.WriteFile(dst, out, 0o644)
}

var errNotPcap = errors.New("not a little-endian pcap of RTP over UDP/IPv4/Ethernet")

func TestTrimDTMFPcap(t *testing.T) {
	src := "/usr/share/sip-tester/dtmf_2833_pound.pcap"
	if _, err := os.Stat(src); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("SIPp's pcaps are missing (Debian sip-tester): %v", err)
		}
		t.Skip("SIPp's pcaps are missing (Debian sip-tester)")
	}
	dst := filepath.Join(t.TempDir(), "pound.pcap")
	if err := trimDTMFPcap(src, dst); err != nil {
		t.Fatal(err)
	}
	in, _ := os.ReadFile(src)
	out, _ := os.ReadFile(dst)
	first := 24 + 16 + 42 // first RTP header in the output
	if len(out) != len(in)-(16+58) {
		t.Fatalf("output %d bytes, want %d (one 58-byte record fewer)", len(out), len(in)-16-58)
	}
	if out[first+1]&0x80 == 0 {
		t.Error("new first packet has no marker bit")
	}
	if ev, d := out[first+12], binary.BigEndian.Uint16(out[first+14:]); ev != 11 || d == 0 {
		t.Errorf("new first packet: event %d duration %d, want event 11 (#) and a duration > 0", ev, d)
	}
	for _, bad := range [][]byte{nil, []byte("not a pcap at all, not even close....."), in[:24+16+10]} {
		f := filepath.Join(t.TempDir(), "bad.pcap")
		os.WriteFile(f, bad, 0o644)
		if err := trimDTMFPcap(f, dst); !errors.Is(err, errNotPcap) {
			t.Errorf("%d bytes: err %v, want errNotPcap", len(bad), err)
		}
	}
}
