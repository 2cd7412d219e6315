// Package browsertest starts Debian's headless Chromium for voxdesk's
// browser tests (the agent softphone, the wallboard, the web call-back),
// with the flags that work on this project's machines (see
// ../shared/research/deps.md) and a fake microphone playing a WAV file.
// It never downloads a browser: without the chromium package the test is
// skipped with the command that installs it.
package browsertest

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ToneHz is the pitch of the tone WriteToneWAV writes: the "agent's
// voice" tests look for on the far side of a call.
const ToneHz = 600

// Path returns the Chromium executable, skipping the test under -short
// or when none is installed (outside CI: in CI, where make test installs
// it, a missing Chromium fails the test).
func Path(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; make test (scripts/install-deps.sh) installs it (Debian package chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install -y --no-install-recommends chromium)")
	return ""
}

// Start launches one headless Chromium whose fake microphone plays mic
// (a WAV file, looped) and returns its browser context; new tabs are
// chromedp.NewContext of it. The browser and its profile are gone when
// the test ends.
func Start(t testing.TB, ctx context.Context, mic string) context.Context {
	t.Helper()
	path := Path(t)
	// Not t.TempDir: Chromium's helper processes may still write the
	// profile for a moment after the browser exits.
	profile, err := os.MkdirTemp("", "voxdesk-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(profile, "profile")),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", mic),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Run(browserCtx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelBrowser() // closes the browser and waits for its process
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	return browserCtx
}

// WriteToneWAV writes 3 s of a ToneHz tone of amplitude 9000, 16-bit
// mono 48 kHz PCM: what a fake microphone plays as the agent's voice.
func WriteToneWAV(t testing.TB, path string) { WriteToneWAVHz(t, path, ToneHz) }

// WriteToneWAVHz is WriteToneWAV with a tone of hz, to tell agents'
// voices apart.
func WriteToneWAVHz(t testing.TB, path string, hz float64) {
	t.Helper()
	const rate = 48000
	samples := make([]int16, 3*rate)
	for i := range samples {
		samples[i] = int16(9000 * math.Sin(2*math.Pi*hz*float64(i)/rate))
	}
	b := make([]byte, 44, 44+2*len(samples))
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(samples)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(samples)))
	for _, v := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
