#!/usr/bin/python3
"""edgebench model zoo generator.

usage: /usr/bin/python3 tools/zoo/zoo.py --out DIR [--only a,b] [--force] [--list]
                                         [--check] [--verify] [--no-verify] [--opset N]

For every model writes DIR/<name>/<name>.onnx, DIR/<name>/<name>.pt (TorchScript, traced,
with extra file inputs.json), DIR/<name>/input.f32 + output.f32 (a reference input and the
PyTorch output for it, raw little-endian float32) and DIR/<name>/model.json (written last).
A model whose files exist (and whose model.json has this generator version) is skipped
unless --force. Files are written under temporary names and renamed into place.

--check   count params/FLOPs of every selected model from its ONNX (count.py), print the
          table against the reference figures; exit 1 if a latency-matrix model misses tolerance.
--verify  re-run the runtime checks (onnx.checker, OpenCV DNN, TorchScript) on existing files.
Needs Debian's python3-torch, python3-torchvision, python3-onnx (and python3-opencv for the
OpenCV check). Run with /usr/bin/python3.
"""
import argparse
import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

GENERATOR = "edgebench-zoo"
GENERATOR_VERSION = 1
DEFAULT_OPSET = 10  # see README: OpenCV 4.6 cannot import opset>=11 Clip (ReLU6)

PARAM_TOL = 0.03  # vs Keras "Total params"
FLOP_TOL = 0.02  # vs the published FLOPs

FLOPS_SOURCE = ("A Docker-based evaluation program for model inference performance on heterogeneous "
                "edge environments (ETRI/Inha/Incheon, 2022), latency table")


class Spec:
    def __init__(self, name, build, input_shape, seed, source, description, output="softmax",
                 paper_flops=None, keras_params=None, keras_note=None, dynamic_batch=False,
                 table2=False):
        self.name, self.build, self.input_shape, self.seed = name, build, tuple(input_shape), seed
        self.source, self.description, self.output = source, description, output
        self.paper_flops, self.keras_params, self.keras_note = paper_flops, keras_params, keras_note
        self.dynamic_batch, self.table2 = dynamic_batch, table2


def _m():
    import models
    return models


def _tv(name, **kw):
    return lambda: _m().torchvision_model(name, **kw)


SPECS = [
    Spec("tinycnn", lambda: _m().TinyCNN(), (1, 3, 32, 32), 1001, "custom",
         "Tiny test CNN: Conv(3->8,3x3,pad1)+BN+ReLU, MaxPool2, Conv(8->16,3x3)+BN+ReLU, "
         "GlobalAveragePool, Flatten, Linear(16->10)", output="logits"),
    Spec("tinycnn_dynamic", lambda: _m().TinyCNN(), (1, 3, 32, 32), 1001, "custom",
         "tinycnn (same weights) with a dynamic batch dimension 'batch' in the ONNX",
         output="logits", dynamic_batch=True),
    Spec("mobilenetv1", lambda: _m().KerasMobileNet(), (1, 3, 224, 224), 1101,
         "keras-reimplementation",
         "tf.keras.applications.MobileNet(alpha=1.0, include_top=True) re-implemented in "
         "PyTorch: ReLU6, depthwise-separable blocks, ZeroPadding before the 4 stride-2 "
         "depthwise convs, head GAP->Reshape->Dropout->Conv1x1(1024->1000, bias)->Reshape->"
         "softmax", paper_flops=1.137e9, keras_params=4253864, table2=True),
    Spec("mobilenetv2", lambda: _m().KerasMobileNetV2(), (1, 3, 224, 224), 1102,
         "keras-reimplementation",
         "tf.keras.applications.MobileNetV2(alpha=1.0, include_top=True) re-implemented in "
         "PyTorch", paper_flops=0.602e9, keras_params=3538984, table2=True),
    Spec("resnet50", lambda: _m().KerasResNet50(), (1, 3, 224, 224), 1103,
         "keras-reimplementation",
         "tf.keras.applications.ResNet50 (v1: stride in the first 1x1 conv of a stage, conv "
         "biases, BN eps 1.001e-5) re-implemented in PyTorch", paper_flops=7.728e9,
         keras_params=25636712, table2=True),
    Spec("efficientnetb0", lambda: _m().KerasEfficientNetB0(), (1, 3, 224, 224), 1104,
         "keras-reimplementation",
         "tf.keras.applications.EfficientNetB0(include_top=True) re-implemented in PyTorch "
         "(swish, SE blocks); the Keras Rescaling(1/255)+Normalization stem is INCLUDED as "
         "plain Mul/Sub/Div ops (ImageNet mean/std), so the model takes 0..255 pixels",
         paper_flops=0.783e9, keras_params=5330571, table2=True),
    Spec("densenet201", lambda: _m().KerasDenseNet((6, 12, 48, 32)), (1, 3, 224, 224), 1105,
         "keras-reimplementation",
         "tf.keras.applications.DenseNet201(include_top=True) re-implemented in PyTorch",
         paper_flops=8.585e9, keras_params=20242984, table2=True),
    Spec("vgg16", _tv("vgg16"), (1, 3, 224, 224), 1201, "torchvision",
         "torchvision.models.vgg16(weights=None) (same layers as Keras VGG16)", output="logits",
         keras_params=138357544),
    Spec("inceptionv3", _tv("inception_v3", aux_logits=False, init_weights=True),
         (1, 3, 299, 299), 1202, "torchvision",
         "torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True), "
         "299x299", output="logits", keras_params=23851784,
         keras_note="Keras InceptionV3 differs in detail (BN without scale, other head); "
                    "figure for comparison only"),
    Spec("xception", lambda: _m().KerasXception(), (1, 3, 299, 299), 1203,
         "keras-reimplementation",
         "tf.keras.applications.Xception(include_top=True) re-implemented in PyTorch, 299x299",
         keras_params=22910480),
    Spec("shufflenetv2", _tv("shufflenet_v2_x1_0"), (1, 3, 224, 224), 1204, "torchvision",
         "torchvision.models.shufflenet_v2_x1_0(weights=None)", output="logits"),
    Spec("squeezenet11", _tv("squeezenet1_1"), (1, 3, 224, 224), 1205, "torchvision",
         "torchvision.models.squeezenet1_1(weights=None)", output="logits"),
    Spec("mobilenetv3small", _tv("mobilenet_v3_small"), (1, 3, 224, 224), 1206, "torchvision",
         "torchvision.models.mobilenet_v3_small(weights=None)", output="logits"),
    Spec("resnet18", _tv("resnet18"), (1, 3, 224, 224), 1207, "torchvision",
         "torchvision.models.resnet18(weights=None)", output="logits"),
]
BY_NAME = {s.name: s for s in SPECS}


# ----------------------------------------------------------------------------- helpers
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def paths(out, name):
    d = os.path.join(out, name)
    return {"dir": d, "onnx": os.path.join(d, name + ".onnx"), "pt": os.path.join(d, name + ".pt"),
            "json": os.path.join(d, "model.json"), "input": os.path.join(d, "input.f32"),
            "output": os.path.join(d, "output.f32")}


def tmp_name(path):
    d, b = os.path.split(path)
    return os.path.join(d, f".{b}.tmp{os.getpid()}")


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def is_current(p):
    if not all(os.path.exists(p[k]) for k in ("onnx", "pt", "json", "input", "output")):
        return False, "missing"
    try:
        with open(p["json"]) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False, "unreadable model.json"
    if meta.get("generator_version") != GENERATOR_VERSION:
        return False, f"generator version {meta.get('generator_version')} != {GENERATOR_VERSION}"
    return True, "up to date"


def keras_style_params(model):
    """Parameters + BN moving statistics (+ other buffers), as Keras' Total params counts."""
    n = sum(p.numel() for p in model.parameters())
    n += sum(b.numel() for k, b in model.named_buffers() if not k.endswith("num_batches_tracked"))
    return int(n)


def build_model(spec):
    """Build the model with deterministic weights.

    torch.manual_seed(spec.seed) before construction (PyTorch / torchvision init), then
    BN gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1) from a seeded generator; BN running statistics
    calibrated on a seeded random batch (one train-mode pass with cumulative averaging),
    and the classifier scaled so that its outputs have std 3 on that batch (a peaked softmax
    makes the runtime comparisons meaningful). The calibration pass runs in float64 on one
    thread and its results are rounded to float16-representable values: the files then do
    not depend on thread count, BLAS or CPU (float32 kernels differ in the last bits).
    """
    import torch
    import torch.nn as nn
    torch.manual_seed(spec.seed)
    model = spec.build()
    gen = torch.Generator().manual_seed(spec.seed + 7)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    last = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for m in bns:
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0.0, 0.1, generator=gen)
            x = torch.randn((4,) + spec.input_shape[1:], generator=gen)
            if spec.name == "efficientnetb0":  # its Rescaling/Normalization stem expects 0..255
                x = x * 58.0 + 118.0
            model.double().eval()
            x = x.double()
            if bns:
                for m in bns:
                    m.reset_running_stats()
                    m.momentum = None  # cumulative average: = batch statistics
                    m.train()
                model(x)
                for m in bns:
                    m.momentum = 0.1
                    m.eval()
            cap = {}  # the last Linear / Conv2d (the classifier) feeds the output
            h = last.register_forward_hook(lambda mod, i, o: cap.__setitem__("y", o))
            model(x)
            h.remove()
            scale = 3.0 / max(float(cap["y"].std()), 1e-12)
            model.float()
            for m in bns:
                m.running_mean.copy_(m.running_mean.half().float())
                m.running_var.copy_(m.running_var.half().float())
            s = torch.tensor(scale).half().float()
            last.weight.mul_(s)
            if last.bias is not None:
                last.bias.mul_(s)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return model


def reference_input(spec):
    import torch
    gen = torch.Generator().manual_seed(spec.seed + 13)
    x = torch.randn(spec.input_shape, generator=gen)
    if spec.name == "efficientnetb0":
        x = x * 58.0 + 118.0
    return x


# ----------------------------------------------------------------------------- checks
def check_runtimes(spec, onnx_path, pt_path, x, ref, log):
    """onnx.checker + OpenCV DNN + TorchScript; returns dict of results (errors)."""
    import numpy as np
    import onnx
    import torch
    res = {}
    onnx.checker.check_model(onnx.load(onnx_path))
    res["onnx_checker"] = "ok"
    scale = float(np.abs(ref).max())
    try:
        import cv2
    except ImportError:
        cv2 = None
        res["opencv"] = "skipped (no cv2 module; apt-get install python3-opencv)"
    if cv2 is not None:
        net = cv2.dnn.readNetFromONNX(onnx_path)
        net.setInput(x)
        y = net.forward()
        err = float(np.abs(y.reshape(ref.shape) - ref).max())
        res["opencv_version"] = cv2.__version__
        res["opencv_max_abs_err"] = err
        res["opencv_rel_err"] = err / scale
        res["opencv_argmax_equal"] = bool((y.reshape(ref.shape).argmax(-1) == ref.argmax(-1)).all())
        if spec.dynamic_batch:  # the same net with batch 2
            x2 = np.concatenate([x, x[:, ::-1].copy()], 0)
            net2 = cv2.dnn.readNetFromONNX(onnx_path)
            net2.setInput(x2)
            y2 = net2.forward()
            res["opencv_batch2_shape"] = list(y2.shape)
            res["opencv_batch2_max_abs_err"] = float(np.abs(y2[:1] - ref).max())
            res["opencv_batch2_rel_err"] = res["opencv_batch2_max_abs_err"] / scale
    files = {"inputs.json": ""}
    ts = torch.jit.load(pt_path, _extra_files=files)
    meta = json.loads(files["inputs.json"])
    assert meta["inputs"][0]["shape"] == list(spec.input_shape), meta
    with torch.no_grad():
        yt = ts(torch.from_numpy(x)).numpy()
    res["torchscript_max_abs_err"] = float(np.abs(yt - ref).max())
    res["torchscript_rel_err"] = res["torchscript_max_abs_err"] / scale
    return res


def fmt_checks(r):
    parts = [f"checker {r.get('onnx_checker', '?')}"]
    if "opencv_max_abs_err" in r:
        parts.append(f"OpenCV max|err| {r['opencv_max_abs_err']:.3g} (rel {r['opencv_rel_err']:.2g}"
                     f", argmax {'same' if r['opencv_argmax_equal'] else 'DIFFERENT'})")
        if "opencv_batch2_shape" in r:
            parts.append(f"OpenCV batch2 {r['opencv_batch2_shape']} "
                         f"err {r['opencv_batch2_max_abs_err']:.3g}")
    else:
        parts.append("OpenCV " + r.get("opencv", "?"))
    parts.append(f"TorchScript max|err| {r['torchscript_max_abs_err']:.3g}")
    return "; ".join(parts)


REL_TOL = 1e-3  # runtime outputs vs PyTorch, relative to max |output|


def checks_ok(r):
    ok = r.get("onnx_checker") == "ok" and r["torchscript_rel_err"] <= REL_TOL
    if "opencv_rel_err" in r:
        ok = ok and r["opencv_rel_err"] <= REL_TOL
    if "opencv_batch2_shape" in r:
        ok = ok and r["opencv_batch2_shape"][0] == 2 and r["opencv_batch2_rel_err"] <= REL_TOL
    return ok


# ----------------------------------------------------------------------------- generate
def generate(spec, out, opset, verify, log):
    import torch
    import count
    import export
    p = paths(out, spec.name)
    os.makedirs(p["dir"], exist_ok=True)
    for f in os.listdir(p["dir"]):  # leftovers of an interrupted (killed) run
        if f.startswith(".") and ".tmp" in f and not _pid_alive(f.rsplit(".tmp", 1)[1]):
            os.remove(os.path.join(p["dir"], f))
    t0 = time.time()
    model = build_model(spec)
    x = reference_input(spec)
    with torch.no_grad():
        ref = model(x).numpy()
    tmp = {k: tmp_name(p[k]) for k in ("onnx", "pt", "input", "output", "json")}
    try:
        meta_onnx = {"edgebench_zoo_model": spec.name,
                     "edgebench_zoo_version": str(GENERATOR_VERSION)}
        export.export_onnx(model, x, tmp["onnx"], opset, spec.dynamic_batch, meta_onnx)
        export.export_torchscript(model, x, tmp["pt"], spec.input_shape)
        x_np = x.numpy().astype("<f4")
        x_np.tofile(tmp["input"])
        ref.astype("<f4").tofile(tmp["output"])
        t_export = time.time() - t0
        checks = check_runtimes(spec, tmp["onnx"], tmp["pt"], x_np, ref, log) if verify else None
        c = count.count(tmp["onnx"])
        meta = {
            "name": spec.name,
            "generator": GENERATOR,
            "generator_version": GENERATOR_VERSION,
            "source": spec.source,
            "description": spec.description,
            "input": {"name": "input", "type": "float32", "shape": list(spec.input_shape),
                      "layout": "NCHW", "dynamic_axes": {"0": "batch"} if spec.dynamic_batch
                      else {}},
            "output": {"name": "output", "type": "float32", "shape": list(ref.shape),
                       "kind": spec.output},
            "params": c["params"],
            "params_keras_style": keras_style_params(model),
            "macs": c["macs"],
            "flops": c["flops"],
            "flops_definition": "2 x multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul "
                                "(tools/zoo/count.py over the ONNX)",
            "reference": {k: v for k, v in {
                "paper_flops": spec.paper_flops,
                "paper_flops_source": FLOPS_SOURCE if spec.paper_flops else None,
                "keras_params": spec.keras_params,
                "keras_params_source": "tf.keras.applications model.summary() Total params"
                if spec.keras_params else None,
                "keras_note": spec.keras_note,
            }.items() if v is not None},
            "weights": {"kind": "random, deterministic", "seed": spec.seed,
                        "init": "torch.manual_seed(seed) + default init; BN gamma~U(0.5,1.5), "
                                "beta~N(0,0.1), running stats calibrated (float64) on a seeded "
                                "random batch of 4; classifier scaled to output std 3"},
            "onnx": {"file": os.path.basename(p["onnx"]), "opset": opset,
                     "sha256": sha256(tmp["onnx"]), "bytes": os.path.getsize(tmp["onnx"]),
                     "batchnorm": "kept as BatchNormalization nodes (not folded)"},
            "torchscript": {"file": os.path.basename(p["pt"]), "method": "torch.jit.trace",
                            "torch_version": torch.__version__, "extra_files": ["inputs.json"],
                            "sha256": sha256(tmp["pt"])},
            "reference_io": {"input": "input.f32", "output": "output.f32",
                             "format": "raw little-endian float32, C order",
                             "output_from": "PyTorch eager (float32, CPU)",
                             "input_sha256": sha256(tmp["input"])},
        }
        with open(tmp["json"], "w") as f:
            json.dump(meta, f, indent=2, sort_keys=False)
            f.write("\n")
        if checks is not None and not checks_ok(checks):
            raise RuntimeError("runtime check failed: " + fmt_checks(checks))
        if os.path.exists(p["json"]):  # no model.json while the files are being replaced
            os.remove(p["json"])
        for k in ("onnx", "pt", "input", "output", "json"):  # model.json last
            os.replace(tmp[k], p[k])
    finally:
        for k, t in tmp.items():
            if os.path.exists(t):
                os.remove(t)
    dt = time.time() - t0
    log(f"  params {c['params']:,}  FLOPs {c['flops'] / 1e9:.3f}B  "
        f"onnx {meta['onnx']['bytes'] / 1e6:.1f} MB  export {t_export:.1f}s  total {dt:.1f}s")
    if checks is not None:
        log("  " + fmt_checks(checks))
    return checks


def verify_existing(spec, out, log):
    import numpy as np
    p = paths(out, spec.name)
    x = np.fromfile(p["input"], dtype="<f4").reshape(spec.input_shape)
    with open(p["json"]) as f:
        meta = json.load(f)
    ref = np.fromfile(p["output"], dtype="<f4").reshape(meta["output"]["shape"])
    r = check_runtimes(spec, p["onnx"], p["pt"], x, ref, log)
    log("  " + fmt_checks(r))
    return r


def isolated(fn, spec, *args):
    """Run fn(spec, *args) in a forked child process; True if it succeeded.

    A fresh process per model keeps the TorchScript files independent of which models were
    traced before (torch.jit mangles the names of classes it has already seen: ___torch_mangle_N)
    and bounds the memory of the big models. The parent never runs torch ops, so forking is safe.
    """
    import multiprocessing as mp
    import traceback

    def child():
        try:
            r = fn(spec, *args)
            ok = True if r is None else checks_ok(r)
        except Exception as e:  # noqa: BLE001 - reported, parent records the failure
            print(f"  FAILED: {type(e).__name__}: {e}", flush=True)
            if os.environ.get("ZOO_DEBUG"):
                traceback.print_exc()
            ok = False
        sys.stdout.flush()
        os._exit(0 if ok else 1)

    p = mp.get_context("fork").Process(target=child)
    p.start()
    p.join()
    if p.exitcode not in (0, 1):
        print(f"  FAILED: worker exited with code {p.exitcode}", flush=True)
    return p.exitcode == 0


# ----------------------------------------------------------------------------- check table
def check_table(specs, out, log):
    import count
    failed = []
    hdr = (f"{'model':17s} {'input':>16s} {'params':>12s} {'Keras ref':>12s} {'d':>7s} "
           f"{'FLOPs':>8s} {'published':>9s} {'d':>6s}  status")
    log(hdr)
    log("-" * len(hdr))
    for s in specs:
        p = paths(out, s.name)
        if not os.path.exists(p["onnx"]):
            log(f"{s.name:17s} (missing)")
            failed.append(s.name)
            continue
        c = count.count(p["onnx"])
        status = []
        kp = dp = fp = df = ""
        if s.keras_params:
            d = c["params"] / s.keras_params - 1
            kp, dp = f"{s.keras_params:,}", f"{d:+.2%}"
            if s.table2 and abs(d) > PARAM_TOL:
                status.append("PARAMS OUT OF TOLERANCE")
        if s.paper_flops:
            d = c["flops"] / s.paper_flops - 1
            fp, df = f"{s.paper_flops / 1e9:.3f}B", f"{d:+.2%}"
            if s.table2 and abs(d) > FLOP_TOL:
                status.append("FLOPS OUT OF TOLERANCE")
        if s.table2 and not status:
            status.append("ok (matrix)")
        if status and "ok" not in status[0]:
            failed.append(s.name)
        shape = "x".join(str(v) for v in c["input_shape"])
        log(f"{s.name:17s} {shape:>16s} {c['params']:12,d} {kp:>12s} {dp:>7s} "
            f"{c['flops'] / 1e9:7.3f}B {fp:>8s} {df:>7s}  {', '.join(status)}")
    log(f"tolerances for the latency-matrix models: params {PARAM_TOL:.0%} vs Keras total, FLOPs "
        f"{FLOP_TOL:.0%} vs published (FLOPs = 2 x MACs of Conv/Gemm/MatMul, from the ONNX)")
    return failed


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate the edgebench model zoo.")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--force", action="store_true", help="regenerate existing models")
    ap.add_argument("--list", action="store_true", help="list the models and exit")
    ap.add_argument("--check", action="store_true",
                    help="print params/FLOPs vs reference; exit 1 if a latency-matrix model misses")
    ap.add_argument("--verify", action="store_true",
                    help="re-run runtime checks (checker, OpenCV, TorchScript) on existing files")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip the runtime checks after generating")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                    help=f"ONNX opset (default {DEFAULT_OPSET}; >=11 breaks OpenCV 4.6 on ReLU6)")
    a = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    if a.list:
        for s in SPECS:
            shape = "x".join(map(str, s.input_shape))
            log(f"{s.name:17s} {shape:>12s}  {s.source:23s} {s.description}")
        return 0
    if not a.out:
        ap.error("--out DIR is required")
    specs = SPECS
    if a.only:
        names = [n.strip() for n in a.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            ap.error(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
        specs = [BY_NAME[n] for n in names]
    os.makedirs(a.out, exist_ok=True)

    try:
        import onnx  # noqa: F401
        import torch
        import torchvision  # noqa: F401
    except ImportError as e:
        log(f"error: {e}. Run with Debian's /usr/bin/python3 (python3-torch, "
            "python3-torchvision, python3-onnx; python3-opencv for the OpenCV check).")
        return 2
    log(f"edgebench zoo v{GENERATOR_VERSION}: torch {torch.__version__}, opset {a.opset}, "
        f"{len(specs)} model(s) -> {a.out}")
    t_all = time.time()
    errors = []
    for i, s in enumerate(specs, 1):
        p = paths(a.out, s.name)
        current, why = is_current(p)
        if current and not a.force:
            log(f"[{i}/{len(specs)}] {s.name}: exists, skipped (--force to regenerate)")
            if a.verify and not a.no_verify:
                if not isolated(verify_existing, s, a.out, log):
                    errors.append(s.name)
            continue
        log(f"[{i}/{len(specs)}] {s.name}: generating"
            + ("" if why == "missing" or a.force else f" ({why})"))
        if not isolated(generate, s, a.out, a.opset, not a.no_verify, log):
            errors.append(s.name)
    log(f"done in {time.time() - t_all:.1f}s" + (f"; FAILED: {', '.join(errors)}" if errors else ""))
    rc = 1 if errors else 0
    if a.check:
        log("")
        failed = check_table(specs, a.out, log)
        if failed:
            log(f"CHECK FAILED: {', '.join(failed)}")
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
