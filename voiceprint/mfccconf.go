package voiceprint

import (
	"fmt"
	"strings"
)

// expectedMFCCConf is the model's mfcc.conf, whose settings mfcc.Default
// implements. Any other content means a different model.
var expectedMFCCConf = []string{
	"--sample-frequency=8000", "--high-freq=3700", "--low-freq=20", "--num-ceps=23", "--allow-downsample=true",
}

func checkMFCCConf(b []byte) error {
	got := strings.Fields(string(b))
	if strings.Join(got, " ") != strings.Join(expectedMFCCConf, " ") {
		return fmt.Errorf("mfcc.conf is %q, want %q", strings.Join(got, " "), strings.Join(expectedMFCCConf, " "))
	}
	return nil
}
