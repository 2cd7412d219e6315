#!/bin/sh
# Makes the golden test inputs: LibriSpeech test-other utterances (CC BY 4.0)
# as a telephone leg hears them: 8 kHz, G.711 mu-law round trip, 16-bit PCM WAV.
# Usage: sh make_inputs.sh [SPEECH_DIR]   (default /work/shared/speech)
set -eu
S=${1:-/work/shared/speech}/librispeech-test-other/test-other
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
conv() { # in.flac out.wav seconds
	sox "$S/$1" -r 8000 -e u-law -t wav "$tmp/u.wav"
	sox "$tmp/u.wav" -e signed-integer -b 16 "$2" trim 0 "$3"
}
conv 1688/1688-142285-0006.flac m1688_8s.wav 8
conv 1998/1998-15444-0002.flac f1998_3s.wav 3
conv 2033/2033-164914-0000.flac m2033_5s.wav 5
