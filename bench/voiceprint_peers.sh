#!/bin/sh
# Speed of the voiceprint network for 7 s of speech (700 frames) on one core:
# our Go code (go test -bench Network), onnxruntime-node 1.30.0 (one intra-op
# thread) and the numpy reference (OpenBLAS, one thread), with the ratios.
# All three run the same weights on the same features and must agree
# (cosine >= 0.9999 to numpy). Needs: the model (voxdesk model fetch), Debian
# python3-numpy and python3-onnx, npm. Nothing here is committed: the ONNX file
# and node_modules go to .cache/voiceprint-peers.
#   sh bench/voiceprint_peers.sh [FRAMES]
set -eu
cd "$(dirname "$0")/.."
FRAMES=${1:-700}
REF=${VOXDESK_REF_DIR:-/work/shared/tools}
MODEL=${VOXDESK_MODEL_DIR:-.cache/models/vosk-model-spk-0.4}
OUT=$(pwd)/.cache/voiceprint-peers
mkdir -p "$OUT"
if [ ! -d "$OUT/node_modules/onnxruntime-node" ]; then
	(cd "$OUT" && npm install --silent --no-save --ignore-scripts onnxruntime-node@1.30.0 >/dev/null)
fi
np=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/voiceprint_peers_onnx.py "$REF" "$MODEL" "$OUT" "$FRAMES" | awk '/^numpy/{print $2}')
ort_line=$(node bench/voiceprint_peers.mjs "$OUT" "$FRAMES")
ort=$(echo "$ort_line" | awk '{print $2}')
go_out=$(VOXDESK_PEERS_DIR="$OUT" VOXDESK_PEERS_FRAMES="$FRAMES" GOMAXPROCS=1 \
	go test -run '^$' -bench '^BenchmarkNetwork$' -benchtime 30x -cpu 1 ./voiceprint/nn/)
field() { echo "$go_out" | grep "^BenchmarkNetwork/$1" | awk -v f="$2" '{for(i=1;i<=NF;i++) if($i==f) print $(i-1)}'; }
g32=$(field float32 ms/op); g8=$(field int8 ms/op)
echo "network on $FRAMES frames ($(awk "BEGIN{print $FRAMES/100}") s of speech), one core:"
printf '  go float32  %8.2f ms  (%s GFLOP/s)\n' "$g32" "$(field float32 GFLOP/s)"
printf '  go int8     %8.2f ms  (%s GFLOP/s equivalent; tdnn2-5 in 8 bits)\n' "$g8" "$(field int8 GFLOP/s)"
printf '  onnxruntime %8.2f ms  (float32; %s)\n' "$ort" "$(echo "$ort_line" | cut -d' ' -f3-)"
printf '  numpy       %8.2f ms  (float32, OpenBLAS)\n' "$np"
awk "BEGIN{printf \"  go float32/onnxruntime %.2f   go int8/onnxruntime %.2f   go float32/numpy %.2f\n\", $g32/$ort, $g8/$ort, $g32/$np}"
