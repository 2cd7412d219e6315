package service_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/service"
	"github.com/voxdesk/voxdesk/voiceprint"
)

// saturdayNight is outside every opening hour of the example hotline
// (Paris, Mon-Fri 08-19, Sat 09-13).
func saturdayNight() time.Time { return time.Date(2026, time.November, 28, 22, 30, 0, 0, time.UTC) }

// TestDemoCallRingsAtAnyHour is the README's "Run it" section: the
// switch from examples/voxdesk.yaml, a demo agent logged in on the agent
// page (headless Chromium, the README's demo account), and the README's
// own call, SIPp's built-in uac scenario, which sends no speech and no
// keys. At a time the hotline's office calendar is closed, the example's
// ivr.calendars override keeps the hotline open, and the silent caller
// is sent to a person instead of menus: the page must ring within 20 s
// of the call.
func TestDemoCallRingsAtAnyHour(t *testing.T) {
	ctx := browserTest(t, 90*time.Second)
	model, err := voiceprint.FindModelDir() // identify listens only with a speaker model, as in make run
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("speaker model absent in CI: %v", err)
		}
		t.Skipf("speaker model absent (run voxdesk model fetch): %v", err)
	}

	example := exampleConfig(t)
	sw := startSwitch(t, func(c *service.Config) {
		example(c)
		c.Voiceprint.ModelDir = model
		c.Voiceprint.DemoSpeech = "" // who the caller is does not matter here
	}, service.WithIVROptions(ivr.WithClock(saturdayNight)))
	base := "http://" + sw.HTTPAddr().String()
	agent, _ := demoAgent(t, ctx, base, "alice")

	// The README's call, on the test switch's port.
	sippCtx, stopSIPp := context.WithCancel(ctx)
	start := time.Now()
	sippDone := make(chan error, 1)
	cmd := exec.CommandContext(sippCtx, "sipp", "-sn", "uac", "-m", "1", "-d", "60000",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t, "udp")), "-mp", strconv.Itoa(freePort(t, "udp")),
		"-nostdin", "-timeout", "80s",
		"127.0.0.1:"+strconv.Itoa(sw.sipPort()))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { sippDone <- cmd.Wait() }()
	defer func() {
		stopSIPp()
		<-sippDone
	}()

	ring, cancelRing := context.WithTimeout(ctx, 20*time.Second)
	defer cancelRing()
	var shown bool
	if err := waitFor(ring, "ringing agent page", func() bool {
		_ = chromedp.Run(agent, chromedp.Evaluate(`!!document.querySelector('#offer:not([hidden])')`, &shown))
		return shown
	}); err != nil {
		t.Fatalf("the agent page did not ring within 20 s of the README's call: %v", err)
	}
	rang := time.Since(start)
	t.Logf("agent page rang %v after the README's silent call", rang.Round(10*time.Millisecond))
}

func TestConfigCalendarOverride(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		ok   bool
	}{
		{"ivr:\n  calendars: {office: always-open}\n", true},
		{"ivr:\n  calendars: {office: always-closed}\n", true},
		{"ivr:\n  calendars: {office: open}\n", false},
	} {
		_, err := service.ParseConfig([]byte(tc.yaml))
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.yaml, err, tc.ok)
		}
	}
}
