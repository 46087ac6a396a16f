#!/usr/bin/python3
"""Parameter and MAC counter over an ONNX file (independent of the PyTorch definitions).

    /usr/bin/python3 tools/zoo/count.py MODEL.onnx [MODEL.onnx ...] [--batch N] [--by-op]

* params: number of elements of the floating-point initializers of rank >= 1 (weights,
  biases, BatchNormalization scale/bias/mean/var, constant tensors). Scalars (rank 0, e.g.
  Pad values, Rescaling factors) and integer tensors (shapes, pads) are not counted. With
  BatchNormalization kept as a node this equals Keras' "Total params" (Keras counts the
  moving mean and variance too).
* MACs, after onnx.shape_inference (symbolic batch dims are taken as --batch, default 1):
    Conv        N * Cout * prod(out spatial) * (Cin / group) * prod(kernel)
                (so depthwise convs cost Cout * H * W * k * k)
    ConvTranspose  N * Cin * prod(in spatial) * (Cout / group) * prod(kernel)
    Gemm        M * N * K   (transA/transB honoured)
    MatMul      prod(broadcast batch dims) * M * N * K
  Every other op counts 0 (BN, activations, pooling, Add, Mul, Concat...). FLOPs = 2 * MACs.
"""
import argparse
import sys
from collections import Counter

import numpy as np
import onnx
from onnx import shape_inference

FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
               onnx.TensorProto.BFLOAT16}


def _dims(type_proto, batch):
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    out = []
    for d in type_proto.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        else:
            out.append(batch)  # symbolic (e.g. "batch")
    return out


def shapes_of(model, batch=1):
    """name -> shape for every value whose shape is known after shape inference."""
    inferred = shape_inference.infer_shapes(model)
    g = inferred.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        s = _dims(vi.type, batch)
        if s is not None:
            shapes[vi.name] = s
    for t in g.initializer:
        shapes[t.name] = list(t.dims)
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    shapes[n.output[0]] = list(a.t.dims)
    return shapes


def count_params(model):
    total = 0
    for t in model.graph.initializer:
        if t.data_type in FLOAT_TYPES and len(t.dims) >= 1:
            total += int(np.prod(t.dims))
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.t.data_type in FLOAT_TYPES and len(a.t.dims) >= 1:
                    total += int(np.prod(a.t.dims))
    return total


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def node_macs(node, shapes):
    """MACs of one node, or 0. Raises if a shape needed is unknown."""
    op = node.op_type

    def shp(name):
        if name not in shapes:
            raise ValueError(f"{op} {node.name}: shape of {name!r} unknown")
        return shapes[name]

    if op == "Conv":
        w = shp(node.input[1])  # [Cout, Cin/group, k...]
        y = shp(node.output[0])  # [N, Cout, spatial...]
        return int(np.prod(y)) * int(np.prod(w[1:]))
    if op == "ConvTranspose":
        x = shp(node.input[0])  # [N, Cin, spatial...]
        w = shp(node.input[1])  # [Cin, Cout/group, k...]
        return int(np.prod(x)) * int(np.prod(w[1:]))
    if op == "Gemm":
        a, b = shp(node.input[0]), shp(node.input[1])
        m, k = (a[1], a[0]) if _attr(node, "transA", 0) else (a[0], a[1])
        n = b[0] if _attr(node, "transB", 0) else b[1]
        return m * n * k
    if op == "MatMul":
        a, b = shp(node.input[0]), shp(node.input[1])
        y = shp(node.output[0])
        k = a[-1]
        return int(np.prod(y)) * k
    return 0


def count(path_or_model, batch=1):
    model = onnx.load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    shapes = shapes_of(model, batch)
    macs = 0
    by_op = Counter()
    n_ops = Counter()
    for n in model.graph.node:
        m = node_macs(n, shapes)
        macs += m
        if n.op_type == "Conv":
            w = shapes[n.input[1]]
            group = _attr(n, "group", 1)
            kind = "Conv(depthwise)" if group > 1 and w[1] == 1 else (
                "Conv(grouped)" if group > 1 else "Conv")
            by_op[kind] += m
            n_ops[kind] += 1
        else:
            by_op[n.op_type] += m
            n_ops[n.op_type] += 1
    inp = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    return {
        "params": count_params(model),
        "macs": macs,
        "flops": 2 * macs,
        "macs_by_op": {k: v for k, v in by_op.items() if v},
        "ops": dict(n_ops),
        "input_shape": _dims(inp[0].type, batch) if inp else None,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--by-op", action="store_true", help="print MACs and node counts per op")
    a = ap.parse_args(argv)
    print(f"{'model':40s} {'input':>18s} {'params':>13s} {'MACs':>15s} {'FLOPs(2xMAC)':>14s}")
    for p in a.models:
        r = count(p, a.batch)
        print(f"{p:40s} {str(r['input_shape']):>18s} {r['params']:13,d} {r['macs']:15,d} "
              f"{r['flops'] / 1e9:13.3f}B")
        if a.by_op:
            for k in sorted(r["ops"]):
                print(f"    {k:24s} nodes {r['ops'][k]:5d}  MACs {r['macs_by_op'].get(k, 0):15,d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
