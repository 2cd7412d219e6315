package bench

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// loCapture records the RTP packets crossing the loopback interface, in
// both directions, with the kernel's timestamp of each (taken when the
// sender's packet entered the loopback device, so it says when the sender
// sent it, whatever the scheduling of whoever reads it). It lets the peer
// bench measure the RTP of a SIPp caller and of any peer the same way,
// without being one of the RTP endpoints. It needs CAP_NET_RAW (root).
type loCapture struct {
	fd   int
	keep func(src, dst uint16) bool
	t0   time.Time
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	streams map[streamKey]*rtpTrace
	other   map[uint8]int // packets of other payload types (telephone-event...)
}

// streamKey names one RTP stream on the wire.
type streamKey struct {
	src, dst uint16
	ssrc     uint32
}

// startLoCapture captures the UDP packets on lo for which keep(src port,
// dst port) is true, audio (payload type 0) into one trace per stream.
func startLoCapture(keep func(src, dst uint16) bool) (*loCapture, error) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	proto := int(htons(unix.ETH_P_IP))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("capture: packet socket (needs CAP_NET_RAW): %w", err)
	}
	setup := func() error {
		// Each packet crosses lo twice (out, then in): keep one copy.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return err
		}
		tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: lo.Index})
	}
	if err := setup(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture: %w", err)
	}
	c := &loCapture{fd: fd, keep: keep, t0: time.Now(), stop: make(chan struct{}), done: make(chan struct{}),
		streams: map[streamKey]*rtpTrace{}, other: map[uint8]int{}}
	go c.run()
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *loCapture) run() {
	defer close(c.done)
	buf := make([]byte, 2048)
	oob := make([]byte, 128)
	var p rtp.Header
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, oobn, _, _, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil {
			continue // the 200 ms receive timeout, or EINTR
		}
		at, ok := kernelTime(oob[:oobn])
		if !ok {
			at = time.Now()
		}
		src, dst, ok := parseRTPPacket(buf[:n], &p)
		if !ok || !c.keep(src, dst) {
			continue
		}
		c.mu.Lock()
		if p.PayloadType != 0 {
			c.other[p.PayloadType]++
			c.mu.Unlock()
			continue
		}
		k := streamKey{src, dst, p.SSRC}
		tr := c.streams[k]
		if tr == nil {
			tr = &rtpTrace{}
			c.streams[k] = tr
		}
		tr.add(at.Sub(c.t0), p.Timestamp, p.SequenceNumber)
		c.mu.Unlock()
	}
}

// parseRTPPacket reads an IPv4 packet (as a SOCK_DGRAM packet socket
// gives it: no link header) carrying UDP whose payload parses as RTP
// version 2 into p, and returns its UDP ports. Anything else on lo (other
// protocols, truncated or odd packets of any process) is not RTP: ok is
// false.
func parseRTPPacket(pkt []byte, p *rtp.Header) (src, dst uint16, ok bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != unix.IPPROTO_UDP {
		return 0, 0, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < 20 || len(pkt) < ihl+8 {
		return 0, 0, false
	}
	udp := pkt[ihl:]
	src, dst = binary.BigEndian.Uint16(udp[0:2]), binary.BigEndian.Uint16(udp[2:4])
	payload := udp[8:]
	if len(payload) < 12 || payload[0]>>6 != 2 {
		return 0, 0, false
	}
	if _, err := p.Unmarshal(payload); err != nil {
		return 0, 0, false
	}
	return src, dst, true
}

// kernelTime reads SCM_TIMESTAMPNS from a packet's control messages.
func kernelTime(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}

// close stops the capture and returns its traces, the count of packets
// of other payload types and the kernel's count of packets it dropped
// (socket buffer full: then the traces miss packets).
func (c *loCapture) close() (map[streamKey]*rtpTrace, map[uint8]int, int) {
	close(c.stop)
	<-c.done
	drops := -1
	if st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		drops = int(st.Drops)
	}
	unix.Close(c.fd)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams, c.other, drops
}

// The capture can run in a process of its own (the test binary run again
// as TestCaptureHelper), so that a bench whose switch runs in the test
// process measures the switch's CPU and memory without the capture's.

// capturedStream is one stream of a capture, as the helper sends it.
type capturedStream struct {
	Src, Dst uint16
	SSRC     uint32
	Arrival  []time.Duration
	TS       []uint32
	Seq      []uint16
}

type capturedRun struct {
	Streams []capturedStream
	Other   map[uint8]int
	Drops   int
}

// TestCaptureHelper is not a test: it is the capture process of
// startCaptureProcess, and skips when run as a test.
func TestCaptureHelper(t *testing.T) {
	out := os.Getenv("VOXDESK_CAPTURE_OUT")
	if out == "" {
		t.Skip("the benches' capture process (set by startCaptureProcess)")
	}
	var lo, hi uint16
	if _, err := fmt.Sscanf(os.Getenv("VOXDESK_CAPTURE_PORTS"), "%d-%d", &lo, &hi); err != nil {
		t.Fatalf("VOXDESK_CAPTURE_PORTS: %v", err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	in := func(p uint16) bool { return p >= lo && p <= hi }
	c, err := startLoCapture(func(src, dst uint16) bool { return in(src) || in(dst) })
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("capturing")
	select {
	case <-stop:
	case <-time.After(time.Hour):
	}
	streams, other, drops := c.close()
	run := capturedRun{Other: other, Drops: drops}
	for k, tr := range streams {
		run.Streams = append(run.Streams, capturedStream{k.src, k.dst, k.ssrc, tr.arrival, tr.rtpTS, tr.seq})
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := gob.NewEncoder(f).Encode(run); err != nil {
		t.Fatal(err)
	}
}

// captureProcess is a running TestCaptureHelper.
type captureProcess struct {
	d   *daemon
	out string
}

// startCaptureProcess captures the RTP to or from ports lo-hi in a
// process of its own on the given CPU, and returns once it captures.
func startCaptureProcess(b *testing.B, dir string, cpu int, lo, hi uint16) *captureProcess {
	b.Helper()
	out := filepath.Join(dir, "capture.gob")
	cmd := pinned(cpu, os.Args[0], "-test.run", "^TestCaptureHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "VOXDESK_CAPTURE_OUT="+out, fmt.Sprintf("VOXDESK_CAPTURE_PORTS=%d-%d", lo, hi))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	d := startDaemon(b, cmd)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			if sc.Text() == "capturing" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			d.stop()
			b.Fatalf("capture process did not start: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		d.stop()
		b.Fatal("capture process did not start in 30 s")
	}
	return &captureProcess{d: d, out: out}
}

// close stops the capture process and reads what it captured.
func (c *captureProcess) close(b *testing.B) (map[streamKey]*rtpTrace, map[uint8]int, int) {
	b.Helper()
	c.d.stop()
	f, err := os.Open(c.out)
	if err != nil {
		b.Fatalf("capture: %v", err)
	}
	defer f.Close()
	var run capturedRun
	if err := gob.NewDecoder(f).Decode(&run); err != nil {
		b.Fatalf("capture: %v", err)
	}
	streams := map[streamKey]*rtpTrace{}
	for _, s := range run.Streams {
		streams[streamKey{s.Src, s.Dst, s.SSRC}] = &rtpTrace{arrival: s.Arrival, rtpTS: s.TS, seq: s.Seq}
	}
	return streams, run.Other, run.Drops
}
