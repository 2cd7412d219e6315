#!/usr/bin/env python3
"""Speed peers for the voiceprint network (bench/voiceprint_peers.sh runs this).

  /usr/bin/python3 voiceprint_peers_onnx.py REF_DIR MODEL_DIR OUT_DIR FRAMES

Loads the model's weights with the independent numpy reference (imported
from REF_DIR, not copied), exports the x-vector network (frame-level TDNN,
mean+stddev pooling, tdnn6.affine) to OUT_DIR/xvector.onnx with Debian's
python3-onnx (opset 12, ir_version 7), writes FRAMES x 23 test features to
OUT_DIR/feats.f32 and the numpy output to OUT_DIR/numpy.f32, and prints the
numpy reference's median time on FRAMES frames (set OPENBLAS_NUM_THREADS=1
for one core). The ONNX file is a derived copy of the weights: it stays in
the ignored cache folder, never in git.
"""
import os, sys, time
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

sys.path.insert(0, sys.argv[1])
import kaldi_xvector_ref as ref

model_dir, out_dir, frames = sys.argv[2], sys.argv[3], int(sys.argv[4])
C = ref.load_nnet(os.path.join(model_dir, "final.ext.raw"))
os.makedirs(out_dir, exist_ok=True)

inits, nodes = [], []
def const(name, arr):
    inits.append(numpy_helper.from_array(np.asarray(arr), name))
    return name

def splice(x, offs, tag):
    """Rows t+o of x for every offset, concatenated on the feature axis."""
    lo, hi = -min(offs), max(offs)
    if offs == [0]:
        return x
    parts = []
    for j, o in enumerate(offs):
        start = lo + o
        end = -(hi - o) if hi - o > 0 else np.iinfo(np.int64).max
        name = f"{tag}_s{j}"
        nodes.append(helper.make_node("Slice", [x, const(f"{name}_st", np.array([start], np.int64)),
            const(f"{name}_en", np.array([end], np.int64)), const(f"{name}_ax", np.array([0], np.int64))], [name]))
        parts.append(name)
    out = f"{tag}_spliced"
    nodes.append(helper.make_node("Concat", parts, [out], axis=1))
    return out

def layer(x, name, offs):
    _, W, b = C[name + ".affine"]
    _, mean, scale = C[name + ".batchnorm"]
    s = splice(x, offs, name)
    nodes.append(helper.make_node("MatMul", [s, const(name + "_W", W.T.astype(np.float32))], [name + "_mm"]))
    nodes.append(helper.make_node("Add", [name + "_mm", const(name + "_b", b.astype(np.float32))], [name + "_aff"]))
    nodes.append(helper.make_node("Relu", [name + "_aff"], [name + "_relu"]))
    nodes.append(helper.make_node("Mul", [name + "_relu", const(name + "_scale", scale.astype(np.float32))], [name + "_sc"]))
    nodes.append(helper.make_node("Add", [name + "_sc", const(name + "_shift", (-mean * scale).astype(np.float32))], [name + "_out"]))
    return name + "_out"

h = layer("feats", "tdnn1", [-2, -1, 0, 1, 2])
h = layer(h, "tdnn2", [-2, 0, 2])
h = layer(h, "tdnn3", [-3, 0, 3])
h = layer(h, "tdnn4", [0])
h = layer(h, "tdnn5", [0])
nodes += [
    helper.make_node("ReduceMean", [h], ["mu"], axes=[0], keepdims=1),
    helper.make_node("Mul", [h, h], ["h2"]),
    helper.make_node("ReduceMean", ["h2"], ["m2"], axes=[0], keepdims=1),
    helper.make_node("Mul", ["mu", "mu"], ["mu2"]),
    helper.make_node("Sub", ["m2", "mu2"], ["var"]),
    helper.make_node("Max", ["var", const("floor", np.array([C["stats-pooling-0-400"][1]], np.float32))], ["varf"]),
    helper.make_node("Sqrt", ["varf"], ["sd"]),
    helper.make_node("Concat", ["mu", "sd"], ["pooled"], axis=1),
]
_, W6, b6 = C["tdnn6.affine"]
nodes += [
    helper.make_node("MatMul", ["pooled", const("W6", W6.T.astype(np.float32))], ["x6"]),
    helper.make_node("Add", ["x6", const("b6", b6.astype(np.float32))], ["xvector"]),
]
graph = helper.make_graph(nodes, "xvector",
    [helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["T", 23])],
    [helper.make_tensor_value_info("xvector", TensorProto.FLOAT, [1, 128])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], producer_name="voxdesk")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out_dir, "xvector.onnx"))

rng = np.random.default_rng(7)
feats = (rng.standard_normal((frames, 23)) * 3).astype(np.float32)
feats.tofile(os.path.join(out_dir, "feats.f32"))
want = ref.xvector_raw(C, feats).astype(np.float32)
want.tofile(os.path.join(out_dir, "numpy.f32"))
ts = []
for _ in range(15):
    t0 = time.perf_counter(); ref.xvector_raw(C, feats); ts.append(time.perf_counter() - t0)
print(f"numpy {1000*np.median(ts):.2f}")
