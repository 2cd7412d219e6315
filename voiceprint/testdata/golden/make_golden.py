#!/usr/bin/env python3
"""Writes golden.json for the voiceprint golden tests from an independent
reference (the numpy x-vector pipeline in /work/shared/tools, imported, not
copied). Usage (Debian python3 + python3-numpy):

  /usr/bin/python3 make_golden.py REF_DIR MODEL_DIR > golden.json

For each input WAV: raw MFCC rows (before CMN) at a few frame indexes, the
voiced frame count, and embeddings with whole-utterance pooling and with
Kaldi's 400-frame chunk averaging.
"""
import json, sys, wave
import numpy as np

sys.path.insert(0, sys.argv[1])
import kaldi_xvector_ref as ref

FILES = ["f1998_3s.wav", "m2033_5s.wav", "m1688_8s.wav"]
FRAMES = [0, 1, 2, 50, 100, 150, 250]

ex = ref.Extractor(sys.argv[2])
out = []
for name in FILES:
    w = wave.open(name)
    assert w.getframerate() == 8000 and w.getsampwidth() == 2 and w.getnchannels() == 1
    x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    f = ref.kaldi_mfcc(x)
    vad = ref.energy_vad(f[:, 0])
    rec = {
        "file": name,
        "num_frames": int(len(f)),
        "voiced": int(vad.sum()),
        "mfcc_frames": FRAMES,
        "mfcc": [[float(v) for v in f[t]] for t in FRAMES if t < len(f)],
        "embedding_whole": [float(v) for v in ex.embed(x)],
        "embedding_chunked": [float(v) for v in ex.embed(x, chunk=400)],
    }
    out.append(rec)
json.dump(out, sys.stdout, indent=1)
