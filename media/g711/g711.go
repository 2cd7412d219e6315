// Package g711 converts between 16-bit linear PCM and ITU-T G.711 mu-law
// (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8).
//
// Decoding uses 256-entry tables; encoding uses tables indexed by the
// 14-bit (mu-law) or 13-bit (A-law) linear value G.711 quantises, so every
// conversion is a rounding shift and one load. The 16-bit sample is rounded
// to nearest (half up, saturating) to 14 or 13 bits before quantising, as
// sox does (its SOX_SAMPLE_TO_SIGNED macro), so the golden tests in this
// package compare against sox output byte for byte.
package g711

// Encoded silence: the code word whose decoded value is closest to zero.
const (
	UlawSilence = 0xFF
	AlawSilence = 0xD5
)

var (
	ulawDecode [256]int16
	alawDecode [256]int16
	ulawEncode [1 << 14]uint8 // indexed by the 14-bit value, two's complement
	alawEncode [1 << 13]uint8 // indexed by the 13-bit value, two's complement
)

func init() {
	for i := range 256 {
		ulawDecode[i] = ulawToLinear(uint8(i))
		alawDecode[i] = alawToLinear(uint8(i))
	}
	for i := range ulawEncode {
		// i is the unsigned 14-bit pattern; sign-extend it.
		v := int32(int16(uint16(i)<<2)) >> 2
		ulawEncode[i] = linearToUlaw(v)
	}
	for i := range alawEncode {
		v := int32(int16(uint16(i)<<3)) >> 3
		alawEncode[i] = linearToAlaw(v)
	}
}

// ulawToLinear expands a mu-law code word (G.711 table 2) to 16-bit linear:
// the word is stored inverted; 3 exponent bits select a segment whose
// step doubles each time, 4 mantissa bits the step within it.
func ulawToLinear(u uint8) int16 {
	u = ^u
	exp := (u >> 4) & 7
	mant := int32(u & 0x0F)
	// Magnitude in 16-bit units, with the 0x84 bias folded in and removed.
	mag := ((mant<<3)+0x84)<<exp - 0x84
	if u&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// alawToLinear expands an A-law code word (G.711 table 1); even bits are
// inverted on the wire (XOR 0x55) and bit 7 set means positive.
func alawToLinear(a uint8) int16 {
	a ^= 0x55
	exp := (a >> 4) & 7
	mant := int32(a & 0x0F)
	var mag int32
	if exp == 0 {
		mag = mant<<4 + 8
	} else {
		mag = (mant<<4 + 0x108) << (exp - 1)
	}
	if a&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}

// linearToUlaw quantises a 14-bit two's complement value.
func linearToUlaw(v int32) uint8 {
	mask := uint8(0xFF)
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	const clip = 8159 // (32635 >> 2), the largest magnitude before the bias overflows segment 7
	if v > clip {
		v = clip
	}
	v += 33 // bias 0x84 at 16 bits is 33 at 14 bits
	// Segment: position of the highest set bit above bit 5.
	seg := uint8(0)
	for t := v >> 6; t != 0 && seg < 8; t >>= 1 {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	u := seg<<4 | uint8(v>>(seg+1))&0x0F
	return u ^ mask
}

// linearToAlaw quantises a 13-bit two's complement value.
func linearToAlaw(v int32) uint8 {
	mask := uint8(0xD5)
	if v < 0 {
		v = ^v // magnitude minus one, as A-law has no negative zero
		mask = 0x55
	}
	seg := uint8(0)
	for t := v >> 5; t != 0 && seg < 8; t >>= 1 {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	a := seg << 4
	if seg < 2 {
		a |= uint8(v>>1) & 0x0F
	} else {
		a |= uint8(v>>seg) & 0x0F
	}
	return a ^ mask
}

// UlawToLinear decodes one mu-law byte.
func UlawToLinear(u uint8) int16 { return ulawDecode[u] }

// AlawToLinear decodes one A-law byte.
func AlawToLinear(a uint8) int16 { return alawDecode[a] }

// to14 rounds a 16-bit sample to the 14-bit table index.
func to14(s int16) uint16 {
	v := (int32(s) + 2) >> 2
	if v > 1<<13-1 {
		v = 1<<13 - 1
	}
	return uint16(v) & (1<<14 - 1)
}

// to13 rounds a 16-bit sample to the 13-bit table index.
func to13(s int16) uint16 {
	v := (int32(s) + 4) >> 3
	if v > 1<<12-1 {
		v = 1<<12 - 1
	}
	return uint16(v) & (1<<13 - 1)
}

// LinearToUlaw encodes one 16-bit sample as mu-law.
func LinearToUlaw(s int16) uint8 { return ulawEncode[to14(s)] }

// LinearToAlaw encodes one 16-bit sample as A-law.
func LinearToAlaw(s int16) uint8 { return alawEncode[to13(s)] }

// DecodeUlaw decodes min(len(dst), len(src)) mu-law bytes into dst and
// returns the count.
func DecodeUlaw(dst []int16, src []byte) int { return decode(dst, src, &ulawDecode) }

// DecodeAlaw decodes min(len(dst), len(src)) A-law bytes into dst and
// returns the count.
func DecodeAlaw(dst []int16, src []byte) int { return decode(dst, src, &alawDecode) }

func decode(dst []int16, src []byte, table *[256]int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = table[b]
	}
	return n
}

// EncodeUlaw encodes min(len(dst), len(src)) samples into dst and returns
// the count.
func EncodeUlaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = ulawEncode[to14(s)]
	}
	return n
}

// EncodeAlaw encodes min(len(dst), len(src)) samples into dst and returns
// the count.
func EncodeAlaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawEncode[to13(s)]
	}
	return n
}
