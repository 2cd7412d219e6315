package res_test

import (
	"testing"

	"github.com/voxdesk/voxdesk/media"
	"github.com/voxdesk/voxdesk/res"
)

// Every prompt the switch and its flows rely on is embedded, decodes,
// and is a plausible length of speech.
func TestPromptsLoad(t *testing.T) {
	ps, err := media.LoadPrompts(res.Prompts, "prompts")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"welcome", "goodbye", "reason", "hold", "you_are_number", "in_the_queue",
		"wait_is", "minutes", "connecting", "not_understood", "callback_offer", "enter_pin",
		"not_verified", "press_0", "leave_message", "closed", "beep", "recording_notice"}
	for d := '0'; d <= '9'; d++ {
		want = append(want, "digit_"+string(d))
	}
	for _, name := range want {
		p := ps.Get(name)
		if p == nil {
			t.Errorf("prompt %q missing", name)
			continue
		}
		if d := p.Duration(); d < 200e6 || d > 8e9 {
			t.Errorf("prompt %q lasts %v", name, d)
		}
		var peak int16
		for _, s := range p.Samples {
			peak = max(peak, s, -s)
		}
		if peak < 8000 {
			t.Errorf("prompt %q peak %d: nearly silent", name, peak)
		}
	}
	if len(ps.Names()) != len(want) {
		t.Errorf("%d prompts embedded, %d expected: %v", len(ps.Names()), len(want), ps.Names())
	}
}
