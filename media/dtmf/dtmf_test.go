package dtmf

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

type pkt struct {
	ssrc, ts uint32
	payload  []byte
}

func ev(code uint8, end bool, dur uint16) []byte {
	return Event{Code: code, End: end, Volume: 10, Duration: dur}.AppendTo(nil)
}

func decodeAll(t *testing.T, pkts []pkt) []Digit {
	t.Helper()
	var d Decoder
	var out []Digit
	for _, p := range pkts {
		var err error
		out, err = d.Decode(out, p.ssrc, p.ts, p.payload)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return d.Flush(out)
}

func TestDecoder(t *testing.T) {
	tests := []struct {
		name string
		pkts []pkt
		want []Digit
	}{
		{
			name: "start with duration 0, updates, end sent three times: one digit",
			pkts: []pkt{
				{1, 1000, ev(5, false, 0)}, {1, 1000, ev(5, false, 160)}, {1, 1000, ev(5, false, 320)},
				{1, 1000, ev(5, true, 480)}, {1, 1000, ev(5, true, 480)}, {1, 1000, ev(5, true, 480)},
			},
			want: []Digit{{'5', 60 * time.Millisecond}},
		},
		{
			name: "same key twice: a new timestamp is a new press",
			pkts: []pkt{
				{1, 1000, ev(1, false, 160)}, {1, 1000, ev(1, true, 800)}, {1, 1000, ev(1, true, 800)},
				{1, 3000, ev(1, false, 160)}, {1, 3000, ev(1, true, 400)}, {1, 3000, ev(1, true, 400)},
			},
			want: []Digit{{'1', 100 * time.Millisecond}, {'1', 50 * time.Millisecond}},
		},
		{
			name: "all end packets lost: reported when the next event starts",
			pkts: []pkt{
				{1, 1000, ev(11, false, 160)}, {1, 1000, ev(11, false, 320)},
				{1, 2000, ev(10, false, 160)}, {1, 2000, ev(10, true, 320)},
			},
			want: []Digit{{'#', 40 * time.Millisecond}, {'*', 40 * time.Millisecond}},
		},
		{
			name: "end lost and nothing follows: reported by Flush",
			pkts: []pkt{{7, 50, ev(9, false, 0)}, {7, 50, ev(9, false, 160)}},
			want: []Digit{{'9', 20 * time.Millisecond}},
		},
		{
			name: "only an end packet (start and updates lost)",
			pkts: []pkt{{1, 1000, ev(0, true, 640)}, {1, 1000, ev(0, true, 640)}},
			want: []Digit{{'0', 80 * time.Millisecond}},
		},
		{
			name: "reordered: a late update after the end is not a second digit",
			pkts: []pkt{
				{1, 1000, ev(3, false, 160)}, {1, 1000, ev(3, true, 480)},
				{1, 1000, ev(3, false, 320)}, {1, 1000, ev(3, true, 480)},
			},
			want: []Digit{{'3', 60 * time.Millisecond}},
		},
		{
			name: "late end retransmission of the previous digit after the next began",
			pkts: []pkt{
				{1, 1000, ev(2, true, 320)}, {1, 2000, ev(4, false, 160)},
				{1, 1000, ev(2, true, 320)}, {1, 2000, ev(4, true, 320)},
			},
			want: []Digit{{'2', 40 * time.Millisecond}, {'4', 40 * time.Millisecond}},
		},
		{
			name: "same timestamp, new SSRC: a new event",
			pkts: []pkt{
				{1, 1000, ev(6, true, 160)}, {2, 1000, ev(6, true, 160)},
			},
			want: []Digit{{'6', 20 * time.Millisecond}, {'6', 20 * time.Millisecond}},
		},
		{
			name: "letters A-D",
			pkts: []pkt{{1, 1, ev(12, true, 160)}, {1, 2, ev(15, true, 160)}},
			want: []Digit{{'A', 20 * time.Millisecond}, {'D', 20 * time.Millisecond}},
		},
		{
			name: "non-DTMF event (flash, 16) is not a digit",
			pkts: []pkt{{1, 1, ev(16, true, 160)}},
			want: nil,
		},
		{
			name: "duration shorter in a later packet keeps the longest",
			pkts: []pkt{{1, 1, ev(8, false, 800)}, {1, 1, ev(8, true, 480)}},
			want: []Digit{{'8', 100 * time.Millisecond}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeAll(t, tc.pkts)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("digit %d: got %q %v, want %q %v", i, got[i].Key, got[i].Duration, tc.want[i].Key, tc.want[i].Duration)
				}
			}
		})
	}
}

func TestShortPayload(t *testing.T) {
	var d Decoder
	if _, err := d.Decode(nil, 1, 1, []byte{1, 2, 3}); err != ErrShortPayload {
		t.Fatalf("err = %v", err)
	}
}

// SIPp's bundled RFC 2833 pcaps (Debian sip-tester): first packet has
// duration 0, the end is sent three times with one sequence number.
func TestSIPpPcaps(t *testing.T) {
	files := map[string]rune{"1": '1', "5": '5', "9": '9', "0": '0', "pound": '#', "star": '*'}
	for name, key := range files {
		path := "/usr/share/sip-tester/dtmf_2833_" + name + ".pcap"
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Skipf("SIPp pcaps not installed (apt-get install sip-tester): %v", err)
			}
			var pkts []pkt
			for _, rtp := range pcapUDPPayloads(t, data) {
				if len(rtp) < 12 {
					t.Fatalf("short RTP packet")
				}
				pkts = append(pkts, pkt{binary.BigEndian.Uint32(rtp[8:]), binary.BigEndian.Uint32(rtp[4:]), rtp[12:]})
			}
			var d Decoder
			var got []Digit
			for _, p := range pkts {
				got, _ = d.Decode(got, p.ssrc, p.ts, p.payload)
			}
			if d.Active() {
				t.Errorf("event still active after the end packets")
			}
			if len(got) != 1 || got[0].Key != key || got[0].Duration <= 0 {
				t.Fatalf("got %v, want one %q with a duration", got, key)
			}
		})
	}
}

// pcapUDPPayloads returns the UDP payloads of a classic little-endian
// Ethernet pcap.
func pcapUDPPayloads(t *testing.T, d []byte) [][]byte {
	t.Helper()
	if len(d) < 24 || binary.LittleEndian.Uint32(d) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(d[20:]) != 1 {
		t.Fatalf("not a little-endian Ethernet pcap")
	}
	var out [][]byte
	for off := 24; off+16 <= len(d); {
		incl := int(binary.LittleEndian.Uint32(d[off+8:]))
		off += 16
		if off+incl > len(d) {
			t.Fatalf("truncated pcap record")
		}
		p := d[off : off+incl]
		off += incl
		ihl := int(p[14]&15) * 4
		out = append(out, p[14+ihl+8:])
	}
	return out
}

func TestSequence(t *testing.T) {
	evs, err := Sequence('#', 100*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// 4 updates (20..80 ms) then the end at 100 ms three times.
	want := []Event{
		{11, false, DefaultVolume, 160}, {11, false, DefaultVolume, 320}, {11, false, DefaultVolume, 480},
		{11, false, DefaultVolume, 640}, {11, true, DefaultVolume, 800}, {11, true, DefaultVolume, 800},
		{11, true, DefaultVolume, 800},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events %v, want %d", len(evs), evs, len(want))
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, evs[i], want[i])
		}
	}
	// What the encoder emits, the decoder reads back as one digit.
	var d Decoder
	var got []Digit
	for _, e := range evs {
		got, _ = d.Decode(got, 9, 12345, e.AppendTo(nil))
	}
	if len(got) != 1 || got[0] != (Digit{'#', 100 * time.Millisecond}) {
		t.Fatalf("round trip: %v", got)
	}
}

func TestSequenceErrors(t *testing.T) {
	tests := []struct {
		name     string
		key      rune
		dur, ivl time.Duration
	}{
		{"unknown key", 'x', time.Second, 20 * time.Millisecond},
		{"zero duration", '1', 0, 20 * time.Millisecond},
		{"zero interval", '1', time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Sequence(tc.key, tc.dur, tc.ivl); err == nil {
				t.Fatal("no error")
			}
		})
	}
	// A very long press is capped to what 16 bits of duration hold.
	evs, err := Sequence('1', time.Minute, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; !last.End || last.Duration < 65000 {
		t.Errorf("capped end event %+v", last)
	}
}

func TestKeys(t *testing.T) {
	for _, k := range "0123456789*#ABCD" {
		c, err := KeyToCode(k)
		if err != nil {
			t.Fatal(err)
		}
		if back, ok := CodeToKey(c); !ok || back != k {
			t.Errorf("%q -> %d -> %q", k, c, back)
		}
	}
}

// Decode any packet sequence without panicking; every digit reported is
// a DTMF key, and a sequence never reports more digits than packets.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 5, 10, 0, 0, 0, 0, 0, 1, 5, 138, 1, 224})
	f.Add([]byte{0, 0, 0, 1, 11, 138, 8, 192, 0, 0, 0, 2, 11, 138, 8, 192})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var got []Digit
		n := 0
		// Each 8-byte record: 4 bytes timestamp (SSRC = its low byte), 4 bytes payload.
		for len(data) >= 4 {
			ts := binary.BigEndian.Uint32(data)
			data = data[4:]
			k := min(len(data), 4)
			var err error
			got, err = d.Decode(got, ts&0xFF, ts, data[:k])
			if (k < 4) != (err != nil) {
				t.Fatalf("payload of %d bytes: err %v", k, err)
			}
			data = data[k:]
			n++
		}
		got = d.Flush(got)
		if len(got) > n {
			t.Fatalf("%d digits from %d packets", len(got), n)
		}
		for _, g := range got {
			if _, err := KeyToCode(g.Key); err != nil || g.Duration < 0 {
				t.Fatalf("bad digit %+v", g)
			}
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte{1, 0x8a, 0x08, 0xc0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			return
		}
		back := e.AppendTo(nil)
		if back[0] != b[0] || back[1] != b[1]&0xBF || back[2] != b[2] || back[3] != b[3] {
			t.Fatalf("%x -> %+v -> %x", b[:4], e, back)
		}
	})
}
