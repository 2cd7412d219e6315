package service_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/service"
)

// TestExamplesDecode loads every examples/*.yaml so the examples never
// rot: they must decode, validate and build a Service.
func TestExamplesDecode(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/*.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := service.LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			// Build it on free ports: the example's fixed ports may be taken.
			cfg.HTTP.Listen, cfg.SIP.UDP, cfg.SIP.TCP = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			if cfg.IVR.Dir != "" {
				cfg.IVR.Dir = copyDir(t, cfg.IVR.Dir) // the library writes .versions beside the flows
			}
			if cfg.Customer.DSN != "" {
				cfg.Customer.DSN = "sqlite:" + filepath.Join(t.TempDir(), "customers.db")
			}
			withoutMissingSpeech(t, cfg)
			svc, err := service.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// withoutMissingSpeech drops the demo enrolment when the shared speech
// folder is not on this machine (it is test data, not part of the repo).
func withoutMissingSpeech(t *testing.T, cfg *service.Config) {
	t.Helper()
	if d := cfg.Voiceprint.DemoSpeech; d != "" {
		if _, err := os.Stat(d); err != nil {
			t.Logf("no demo enrolment: speech folder %s absent (%v)", d, err)
			cfg.Voiceprint.DemoSpeech = ""
		}
	}
}

// copyDir copies a folder tree into a temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if d.Name() == ".versions" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestExampleConfigValues(t *testing.T) {
	cfg, err := service.LoadConfig(filepath.Join("..", "examples", "voxdesk.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SIP.UDP != "127.0.0.1:5060" || cfg.SIP.TCP != "127.0.0.1:5060" || cfg.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("listen addresses %q %q %q", cfg.SIP.UDP, cfg.SIP.TCP, cfg.HTTP.Listen)
	}
	if len(cfg.SIP.Trunks) != 1 || cfg.SIP.Trunks[0].Networks[0] != "127.0.0.0/8" {
		t.Errorf("trunks %+v", cfg.SIP.Trunks)
	}
	if want, _ := filepath.Abs(filepath.Join("..", "examples", "flows")); cfg.IVR.Dir != filepath.Join("..", "examples", "flows") && cfg.IVR.Dir != want {
		t.Errorf("ivr.dir %q not resolved against the config file's folder", cfg.IVR.Dir)
	}
	if cfg.Demo.IdleTimeout < 30*time.Second {
		t.Errorf("demo idle timeout %v hangs up on silent callers before 30 s", cfg.Demo.IdleTimeout)
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		err  string // substring of the error; empty means valid
	}{
		{"empty file takes the defaults", "", ""},
		{"unknown top-level section names line and column", "log:\n  level: info\nsipp:\n  udp: x\n", "[3:1]"},
		{"unknown key in a section names its line", "sip:\n  udp: 127.0.0.1:5060\n  max_call: 3\n", "[3:3]"},
		{"unknown key in a trunk", "sip:\n  trunks:\n    - name: a\n      network: [10.0.0.0/8]\n", "[4:7]"},
		{"bad log level", "log:\n  level: loud\n", "log.level"},
		{"bad duration", "demo:\n  idle_timeout: soon\n", "idle_timeout"},
		{"inverted port range", "media:\n  rtp_port_min: 3000\n  rtp_port_max: 2000\n", "port range"},
		{"bad RTP address", "media:\n  rtp_addr: localhost\n", "rtp_addr"},
		{"routing overflow to an unknown queue", "routing:\n  queues:\n    - {name: a, overflow: b}\n", `queue "a" overflows to unknown queue "b"`},
		{"routing queue defined twice", "routing:\n  queues:\n    - {name: a}\n    - {name: a, join_empty: true}\n", `queue "a" defined twice`},
		{"durations and trunks", "demo:\n  idle_timeout: 90s\nsip:\n  max_calls: 10\n  trunks:\n    - name: sbc\n      networks: [192.0.2.0/24]\n      trusted: true\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := service.ParseConfig([]byte(tc.yaml))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.Demo.IdleTimeout < 30*time.Second || cfg.Media.RTPPortMin == 0 || cfg.HTTP.Listen == "" {
					t.Fatalf("defaults not filled: %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*service.Config)
		err    string
	}{
		{"missing prompt names the prompt", func(c *service.Config) { c.Demo.Welcome = "no_such_prompt" }, "no_such_prompt"},
		{"unreadable prompts folder names it", func(c *service.Config) { c.Media.Prompts = "/nonexistent/prompts" }, "/nonexistent/prompts"},
		{"unknown codec", func(c *service.Config) { c.SIP.Codecs = []string{"G729"} }, "G729"},
		{"trunk without networks or credentials", func(c *service.Config) {
			c.SIP.Trunks[0].Networks = nil
		}, "trunk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := service.DefaultConfig()
			cfg.HTTP.Listen, cfg.SIP.UDP, cfg.SIP.TCP = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			cfg.SIP.Trunks = append(cfg.SIP.Trunks, sipTrunk())
			tc.mutate(cfg)
			svc, err := service.New(cfg)
			if err == nil {
				svc.Close()
				t.Fatal("New accepted the configuration")
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want it to name %q", err, tc.err)
			}
		})
	}
	t.Run("prompt folder overrides the embedded prompts", func(t *testing.T) {
		dir := t.TempDir()
		src, err := os.ReadFile(filepath.Join("..", "res", "prompts", "goodbye.wav"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "welcome.wav"), src, 0o644)
		cfg := service.DefaultConfig()
		cfg.HTTP.Listen, cfg.SIP.UDP, cfg.SIP.TCP = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		cfg.Media.Prompts = dir
		svc, err := service.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		if w, g := svc.Prompts().Get("welcome"), svc.Prompts().Get("goodbye"); len(w.Samples) != len(g.Samples) {
			t.Fatalf("welcome not replaced: %d samples, goodbye has %d", len(w.Samples), len(g.Samples))
		}
	})
}
