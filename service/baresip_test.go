package service_test

import (
	"context"
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
		"audio_path\t" + dir + "\n" + extra
	account := "<sip:bob@127.0.0.1:" + strconv.Itoa(sw.sipPort()) + ";transport=udp>;auth_pass=" + password +
		";regint=60;answermode=auto;audio_codecs=PCMU\n"
	for name, text := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := make(chan string, 1)
	go func() {
		cmd := exec.CommandContext(ctx, "baresip", "-f", dir)
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
