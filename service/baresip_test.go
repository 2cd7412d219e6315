package service_test

import (
	"context"
	"encoding/binary"
	"github.com/voxdesk/voxdesk/routing"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// baresip runs the real softphone baresip (Debian baresip-core) headless
// as bob's phone, with the configuration in a temporary folder, until
// ctx ends; it returns its output.
func baresip(t *testing.T, ctx context.Context, sw *testSwitch, password string, extra string) <-chan string {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("baresip not installed; make test (scripts/install-deps.sh) installs it (Debian package baresip-core)")
		}
		t.Skip("baresip not installed (Debian package baresip-core; make test installs it)")
	}
	dir := t.TempDir()
	port := freePort(t, "udp")
	config := "poll_method\tepoll\n" +
		"sip_listen\t127.0.0.1:" + strconv.Itoa(port) + "\n" +
		"module_path\t/usr/lib/baresip/modules\n" +
		"module\tg711.so\n" +
		"module\taufile.so\n" +
		"module_app\taccount.so\n" +
		"audio_path\t" + dir + "\n" + "net_interface\t127.0.0.1\n" + extra
	account := "<sip:bob@127.0.0.1:" + strconv.Itoa(sw.sipPort()) + ";transport=udp>;auth_pass=" + password +
		";regint=60;answermode=auto;audio_codecs=PCMU\n"
	for name, text := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := make(chan string, 1)
	go func() {
		cmd := exec.CommandContext(ctx, "baresip", "-s", "-f", dir)
		cmd.Dir = dir
		b, _ := cmd.CombinedOutput()
		out <- string(b)
	}()
	return out
}

// TestBaresipRegisters: the real softphone registers as bob with his
// secret (he becomes available), and not with a wrong one.
func TestBaresipRegisters(t *testing.T) {
	sw := phoneSwitch(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bctx, stop := context.WithCancel(ctx)
	out := baresip(t, bctx, sw, "wrong-secret", "")
	time.Sleep(2 * time.Second)
	if ps := phones(t, sw, "bob"); len(ps) != 0 {
		t.Errorf("baresip registered with a wrong secret: %v", ps)
	}
	stop()
	if o := <-out; !strings.Contains(o, "403") {
		t.Errorf("baresip with a wrong secret did not get 403:\n%s", o)
	}
	bctx, stop = context.WithCancel(ctx)
	defer stop()
	out = baresip(t, bctx, sw, "bob-phone-secret", "")
	if err := waitFor(ctx, "baresip registered", func() bool { return len(phones(t, sw, "bob")) == 1 }); err != nil {
		stop()
		t.Fatalf("%v\n%s", err, <-out)
	}
	stop()
	<-out
}

// writePCMWAV writes 8 kHz 16-bit mono WAV, what baresip's aufile reads.
func writePCMWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	b := make([]byte, 44+2*len(pcm))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(pcm)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(pcm)))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBaresipAnswers: baresip, registered as bob, rings with the
// customer's name and Call-Info, answers by itself (answermode=auto),
// receives the caller's RTP and talks from a file (aufile); the caller
// hears it. (baresip 1.0's aufile has no player, so what baresip hears
// is checked as RTP only; SIPp's phone test checks that audio.)
func TestBaresipAnswers(t *testing.T) {
	sw := phoneSwitch(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	speech := callerSpeech(t)
	agentSays := speech[8000:16000]
	var long []int16
	for range 8 {
		long = append(long, agentSays...)
	}
	wav := filepath.Join(t.TempDir(), "agent.wav")
	writePCMWAV(t, wav, long)
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	out := baresip(t, bctx, sw, "bob-phone-secret", "audio_source\taufile,"+wav+"\n")
	if err := waitFor(ctx, "bob available", func() bool { return agentState(sw, "bob") == routing.StateAvailable }); err != nil {
		stop()
		t.Fatalf("%v\n%s", err, <-out)
	}
	callerSink := newRTPSink(t)
	stopTalk := make(chan struct{})
	talked := make(chan struct{})
	go func() { defer close(talked); talkBack(callerSink, speech[:8000], stopTalk) }()
	defer func() { close(stopTalk); <-talked }()
	code, report := sipp{scenario: "sink_caller.xml", keys: map[string]string{"sink_port": callerSink.port()},
		vars: map[string]string{"WAIT_MS": "5000"}}.run(t, sw)
	stop()
	phoneOut := <-out
	if code != 0 {
		t.Fatalf("caller:\n%s\nbaresip:\n%s", report, phoneOut)
	}
	// baresip's SIP trace (-s) shows the INVITE it got.
	for _, want := range []string{`From: "Zoé Lambert" <sip:+33140000001@`, `/api/admin/customers?q=C-7>;purpose=info`} {
		if !strings.Contains(phoneOut, want) {
			t.Errorf("baresip's INVITE has no %q:\n%s", want, phoneOut)
		}
	}
	// And it received the caller's RTP (its aufile has no player to record).
	if !strings.Contains(phoneOut, "incoming rtp for 'audio' established") {
		t.Errorf("baresip received no RTP:\n%s", phoneOut)
	}
	if !strings.Contains(sw.log.String(), "answered on the phone") {
		t.Errorf("not answered on the phone; baresip:\n%s", phoneOut)
	}
	var rec []int16
	for _, p := range callerSink.packets() {
		rec = append(rec, p.pcm...)
	}
	matched := 0
	ref := ulawRoundTrip(agentSays)
	for i := 0; i+800 <= len(ref); i += 800 {
		if corr, _ := bestCorrelation(rec, ref[i:i+800], max(0, len(rec)-800)); corr >= 0.95 {
			matched++
		}
	}
	t.Logf("the caller hears baresip: %d samples, %d of 10 100 ms parts matched", len(rec), matched)
	if matched < 9 {
		t.Errorf("the caller heard %d of 10 100 ms parts of baresip's speech, want >= 9", matched)
	}
}
