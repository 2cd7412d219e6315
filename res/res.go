// Package res embeds the switch's non-Go assets: the voice prompts in
// prompts/*.wav (8 kHz, 16-bit, mono). README.md says how each was made.
package res

import "embed"

// Prompts holds prompts/<name>.wav; load it with
// media.LoadPrompts(res.Prompts, "prompts").
//
//go:embed prompts/*.wav
var Prompts embed.FS
