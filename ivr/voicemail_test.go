package ivr_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/call"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/media"
)

func TestVoicemailDir(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	vm := &ivr.VoicemailDir{Dir: dir, Now: func() time.Time { return at }}
	msg := make([]int16, 3*call.SampleRate+77) // not a whole number of frames
	for i := range msg {
		msg[i] = int16(i*37%20000 - 10000)
	}
	if err := vm.Store(context.Background(), "sales/../x", "abc@host", "+331", "", msg); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.wav"))
	if len(files) != 1 || filepath.Base(files[0]) != "20261123T090000Z-abc_host.wav" || filepath.Base(filepath.Dir(files[0])) != "sales_.._x" {
		t.Fatalf("files %v", files)
	}
	got, err := media.LoadPCM(files[0], call.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msg) {
		t.Fatalf("%d samples, want %d", len(got), len(msg))
	}
	for i := range msg {
		if got[i] != msg[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], msg[i])
		}
	}
}
