"""ONNX / TorchScript export helpers for the zoo (OpenCV-DNN-4.6-friendly ONNX)."""
import io
import json

import onnx
import torch

_REGISTERED = set()


def _constant_pad_nd(g, input, padding, value=None):
    """aten::constant_pad_nd with a constant pad list -> Pad(x, <constant pads>, <value>).

    torch 1.13's opset-11 symbolic builds the pads with ConstantOfShape/Concat/Slice/
    Transpose/Cast, which its constant folder leaves in the graph and OpenCV 4.6 rejects.
    """
    from torch.onnx import symbolic_helper as sh
    pad = sh._get_const(padding, "is", "padding")
    rank = sh._get_tensor_rank(input)
    if rank is None:
        raise RuntimeError("constant_pad_nd: input rank unknown")
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(pad) // 2):  # torch order: last dim first, (before, after) pairs
        begins[rank - 1 - i], ends[rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    v = sh._maybe_get_const(value, "f") if value is not None else 0.0
    v = 0.0 if v is None or not isinstance(v, (int, float)) else float(v)
    return g.op("Pad", input, g.op("Constant", value_t=torch.tensor(begins + ends)),
                g.op("Constant", value_t=torch.tensor(v, dtype=torch.float32)),
                mode_s="constant")


def register_symbolics(opset):
    if opset in _REGISTERED or opset < 11:
        return
    torch.onnx.register_custom_op_symbolic("aten::constant_pad_nd", _constant_pad_nd, opset)

    def _pad(g, input, pad, mode, value):  # F.pad traces to aten::pad in torch 1.13
        from torch.onnx import symbolic_helper as sh
        if sh._parse_arg(mode, "s") != "constant":
            raise RuntimeError("only constant padding is supported")
        return _constant_pad_nd(g, input, pad, value)

    torch.onnx.register_custom_op_symbolic("aten::pad", _pad, opset)
    _REGISTERED.add(opset)


def _fold_identities(model):
    """Remove Identity nodes, which OpenCV 4.6 cannot import.

    torch.onnx deduplicates initializers with equal values (e.g. the zero-initialised biases
    of torchvision's VGG16) and feeds the second user through an Identity. Each such
    Identity becomes its own initializer again (one weight tensor per layer, as in the
    framework model); an Identity on an activation is bypassed.
    """
    g = model.graph
    graph_outputs = {o.name for o in g.output}
    inits = {t.name: t for t in g.initializer}
    alias, new_inits, keep = {}, [], []
    for n in g.node:
        if n.op_type != "Identity" or n.output[0] in graph_outputs:
            keep.append(n)
        elif n.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[n.input[0]])
            t.name = n.output[0]
            new_inits.append(t)
        else:
            alias[n.output[0]] = n.input[0]

    def res(name):
        while name in alias:
            name = alias[name]
        return name

    for n in keep:
        for i, name in enumerate(n.input):
            n.input[i] = res(name)
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(new_inits)
    return len(g.node) - len(keep)


def _constants_to_initializers(model):
    """Turn Constant nodes into initializers (OpenCV and the counter both like that better)."""
    g = model.graph
    keep, inits = [], []
    for n in g.node:
        if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value":
            t = onnx.TensorProto()
            t.CopyFrom(n.attribute[0].t)
            t.name = n.output[0]
            inits.append(t)
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(inits)
    return len(inits)


def _prune_unused_initializers(model):
    g = model.graph
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [t for t in g.initializer if t.name in used]
    removed = len(g.initializer) - len(keep)
    del g.initializer[:]
    g.initializer.extend(keep)
    return removed


def export_onnx(model, example, path, opset, dynamic_batch=False, metadata=None):
    """Export in eval mode keeping BatchNormalization nodes (TrainingMode.PRESERVE on an
    eval-mode module: no Conv+BN folding by the exporter, so the graph mirrors the Keras
    layers and the runtimes do their own fusion), constant folding on, then clean up."""
    register_symbolics(opset)
    model.eval()
    dyn = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch else None
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, path, input_names=["input"], output_names=["output"],
                          opset_version=opset, do_constant_folding=True,
                          training=torch.onnx.TrainingMode.PRESERVE, dynamic_axes=dyn)
    m = onnx.load(path)
    _fold_identities(m)
    _constants_to_initializers(m)
    _prune_unused_initializers(m)
    for k, v in sorted((metadata or {}).items()):
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def onnx_op_counts(m):
    from collections import Counter
    return Counter(n.op_type for n in m.graph.node)


def export_torchscript(model, example, path, input_shape):
    model.eval()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            ts = torch.jit.trace(model, example, check_trace=False)
    extra = {"inputs.json": json.dumps(
        {"inputs": [{"name": "input", "type": "float32", "shape": list(input_shape)}]})}
    buf = io.BytesIO()  # in memory: the archive's folder name is then "archive", not the path
    torch.jit.save(ts, buf, _extra_files=extra)
    with open(path, "wb") as f:
        f.write(strip_debug_info(buf.getvalue()))
    return ts


def strip_debug_info(data):
    """Rewrite a TorchScript archive without its code/*.debug_pkl records.

    Those hold the Python call stack of the trace (absolute paths of this checkout, line
    numbers of zoo.py), which would make the file depend on where and from which revision
    it was generated. Loaders treat them as optional (only error messages lose the Python
    source lines)."""
    reader = torch._C.PyTorchFileReader(io.BytesIO(data))
    out = io.BytesIO()
    writer = torch._C.PyTorchFileWriter(out)
    for name in reader.get_all_records():
        if name.endswith(".debug_pkl"):
            continue
        rec = reader.get_record(name)
        writer.write_record(name, rec, len(rec))
    writer.write_end_of_file()
    return out.getvalue()
