#!/usr/bin/python3
"""Held-out architecture variants for the latency predictor.

usage: /usr/bin/python3 tools/zoo/variants.py --out DIR [--per-family N] [--seed S]
                                              [--families a,b] [--list]

Writes DIR/<family>_<i>.onnx (i = 1..N) for every family and DIR/variants.json (written last):
    {"schema": "edgebench.variants/1", "seed": S, "families": {family: {"zoo_models": [...]}},
     "variants": [{"file", "family", "knobs": {...}, "input_shape", "flops", "params",
                   "sha256"}]}
Each variant is a family's architecture with width, depth, resolution, kernel size and expansion
(those that apply to the family) drawn from a generator seeded by (S, family), so --per-family 3
writes the first three variants of --per-family 5. Widths are always reduced (multiplier < 1 or
fewer channels than the zoo's model), so no variant equals a zoo model. A draw whose FLOPs fall
outside [MIN_FLOPS, MAX_FLOPS] (one ONNX Runtime inference on one thread of the build machine
then takes roughly 2-60 ms) or repeats an earlier draw is drawn again.

Exported as the zoo exports (export.export_onnx: opset zoo.DEFAULT_OPSET, eval mode, batch 1,
BatchNormalization kept) with the zoo's deterministic weights (zoo.build_model). The
building blocks come from models.py and torchvision. Run with Debian's /usr/bin/python3.
"""
import argparse
import json
import os
import random
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SCHEMA = "edgebench.variants/1"
MIN_FLOPS = 100e6
MAX_FLOPS = 1.2e9
MAX_DRAWS = 50  # per variant; ranges are chosen so that most draws fit the FLOPs window
RESOLUTIONS = (96, 112, 128, 144, 160, 176, 192, 208, 224)


try:
    import onnx  # noqa: F401
    import torch
    import torch.nn as nn
    import torchvision  # noqa: F401
except ImportError as e:
    sys.exit(f"error: {e}. Run with Debian's /usr/bin/python3 (python3-torch, "
             "python3-torchvision, python3-onnx).")

import count  # noqa: E402
import export  # noqa: E402
import models as M  # noqa: E402
import zoo  # noqa: E402


# ----------------------------------------------------------------------------- families
# Each family: zoo models of the same architecture (what leave-one-family-out excludes),
# draw(rng) -> knobs, build(knobs) -> nn.Module taking [1, 3, resolution, resolution].

def _resnet_draw(r):
    return {"width": r.choice([16, 24, 32, 40, 48, 56]), "block": r.choice(["basic", "bottleneck"]),
            "depth": [r.randint(1, 2), r.randint(1, 3), r.randint(1, 3), r.randint(1, 2)],
            "stem_kernel": r.choice([3, 5, 7]), "resolution": r.choice(RESOLUTIONS)}


class VariantResNet(nn.Module):
    """torchvision ResNet stages (BasicBlock / Bottleneck) with a reduced base width."""

    def __init__(self, k):
        super().__init__()
        from torchvision.models.resnet import BasicBlock, Bottleneck
        block = BasicBlock if k["block"] == "basic" else Bottleneck
        w, s = k["width"], k["stem_kernel"]
        layers = [nn.Conv2d(3, w, s, 2, s // 2, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                  nn.MaxPool2d(3, 2, 1)]
        c = w
        for i, n in enumerate(k["depth"]):
            planes = w * 2 ** i
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                down = None
                if stride != 1 or c != planes * block.expansion:
                    down = nn.Sequential(nn.Conv2d(c, planes * block.expansion, 1, stride,
                                                   bias=False),
                                         nn.BatchNorm2d(planes * block.expansion))
                layers.append(block(c, planes, stride, down))
                c = planes * block.expansion
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def _mobilenetv1_draw(r):
    return {"alpha": r.choice([0.35, 0.5, 0.75, 0.875]), "kernel": r.choice([3, 5]),
            "depth": r.randint(1, 5), "resolution": r.choice(RESOLUTIONS)}


class VariantMobileNetV1(nn.Module):
    """MobileNetV1: depthwise-separable blocks (ReLU6) with `depth` stride-1 512-channel
    blocks (5 in the original), depthwise kernel `kernel`; Keras' GAP-Dense-softmax head."""

    def __init__(self, k):
        super().__init__()
        a, dk = k["alpha"], k["kernel"]
        c = int(32 * a)
        layers = [nn.Conv2d(3, c, 3, 2, 1, bias=False), M.bn(c), nn.ReLU6()]
        spec = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + \
               [(512, 1)] * k["depth"] + [(1024, 2), (1024, 1)]
        for f, s in spec:
            f = int(f * a)
            layers += [nn.Conv2d(c, c, dk, s, dk // 2, groups=c, bias=False), M.bn(c), nn.ReLU6(),
                       nn.Conv2d(c, f, 1, bias=False), M.bn(f), nn.ReLU6()]
            c = f
        self.features = nn.Sequential(*layers)
        self.head = M.KerasDenseHead(c)

    def forward(self, x):
        return self.head(self.features(x))


def _mobilenetv2_draw(r):
    return {"alpha": r.choice([0.35, 0.5, 0.75, 0.875]), "expansion": r.choice([2, 3, 4, 6]),
            "depth": r.choice([0.5, 0.75, 1.0]), "resolution": r.choice(RESOLUTIONS)}


class VariantMobileNetV2(nn.Module):
    """Keras MobileNetV2 (models.InvertedResidual) with width `alpha`, expansion `expansion`
    and each stage's repeats scaled by `depth` (at least one)."""

    STAGES = [(16, 1, 1), (24, 2, 2), (32, 2, 3), (64, 2, 4), (96, 1, 3), (160, 2, 3),
              (320, 1, 1)]  # filters, first stride, repeats

    def __init__(self, k):
        super().__init__()
        size, a = k["resolution"], k["alpha"]
        c = M.make_divisible(32 * a, 8)
        conv1, size = M.same_conv(3, c, 3, 2, size)
        layers = [conv1, M.bn(c), nn.ReLU6()]
        block_id = 0
        for f, s, n in self.STAGES:
            for j in range(max(1, round(n * k["depth"]))):
                blk = M.InvertedResidual(c, k["expansion"], s if j == 0 else 1, f, a, block_id,
                                         size)
                layers.append(blk)
                c, size, block_id = blk.cout, blk.size, block_id + 1
        last = M.make_divisible(1280 * a, 8)
        layers += [nn.Conv2d(c, last, 1, bias=False), M.bn(last), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.head = M.KerasDenseHead(last)

    def forward(self, x):
        return self.head(self.features(x))


def _mobilenetv3_draw(r):
    return {"width": r.choice([0.5, 0.75, 0.875]), "kernel": r.choice([3, 5, 7]),
            "expansion": r.choice([3, 4, 6]), "depth": [r.randint(1, 2), r.randint(1, 3),
                                                        r.randint(1, 4), r.randint(1, 2),
                                                        r.randint(1, 3)],
            "resolution": r.choice(RESOLUTIONS)}


def _mobilenetv3_build(k):
    """torchvision MobileNetV3 on a MobileNetV3-Large-like table (the zoo has the Small one):
    the stages with 5x5 kernels get `kernel`, expansion ratio `expansion` (16 -> 16 in the
    first block), `depth` repeats per stage (2, 3, 4, 2, 3 in Large)."""
    from torchvision.models.mobilenetv3 import InvertedResidualConfig, MobileNetV3
    w, e, kk = k["width"], k["expansion"], k["kernel"]
    stages = [(24, 3, False, "RE", 2), (40, kk, True, "RE", 2), (80, 3, False, "HS", 2),
              (112, 3, True, "HS", 1), (160, kk, True, "HS", 2)]
    # out, kernel, SE, activation, first stride
    cfg = [InvertedResidualConfig(16, 3, 16, 16, False, "RE", 1, 1, w)]
    c = 16
    for (out, kernel, se, act, s), n in zip(stages, k["depth"]):
        for j in range(n):
            cfg.append(InvertedResidualConfig(c, kernel, c * e, out, se, act, s if j == 0 else 1,
                                              1, w))
            c = out
    return MobileNetV3(cfg, InvertedResidualConfig.adjust_channels(1280, w))


def _efficientnet_draw(r):
    return {"width": r.choice([0.35, 0.5, 0.75]), "depth": r.choice([0.5, 0.75, 1.0]),
            "kernel": r.choice([3, 5, 7]), "expansion": r.choice([3, 4, 6]),
            "resolution": r.choice(RESOLUTIONS)}


class VariantEfficientNet(nn.Module):
    """EfficientNet-B0's stages (models.MBConv, SE 0.25, swish) with widths scaled by `width`,
    repeats by `depth`, expansion `expansion`; the stages with 5x5 kernels in B0 get `kernel`."""

    STAGES = [(3, 1, 16, 1, 1), (3, 2, 24, 0, 2), (5, 2, 40, 0, 2), (3, 3, 80, 0, 2),
              (5, 3, 112, 0, 1), (5, 4, 192, 0, 2), (3, 1, 320, 0, 1)]
    # kernel, repeats, out, expand (0: `expansion`), first stride

    def __init__(self, k):
        super().__init__()
        size = k["resolution"]
        ch = lambda v: M.make_divisible(v * k["width"], 8)  # noqa: E731
        c = ch(32)
        conv1, size = M.same_conv(3, c, 3, 2, size)
        layers = [conv1, M.bn(c), nn.SiLU()]
        for kernel, n, out, expand, s in self.STAGES:
            kernel = k["kernel"] if kernel == 5 else kernel
            for j in range(max(1, round(n * k["depth"]))):
                blk = M.MBConv(c, ch(out), kernel, s if j == 0 else 1, expand or k["expansion"],
                               0.25, size)
                layers.append(blk)
                c, size = ch(out), blk.size
        last = ch(1280)
        layers += [nn.Conv2d(c, last, 1, bias=False), M.bn(last), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = M.KerasDenseHead(last, dropout=0.2)

    def forward(self, x):
        return self.head(self.features(x))


def _densenet_draw(r):
    return {"growth": r.choice([8, 12, 16, 24]), "blocks": [r.randint(2, 4), r.randint(2, 6),
                                                        r.randint(2, 8), r.randint(2, 6)],
            "resolution": r.choice(RESOLUTIONS)}


class VariantDenseNet(nn.Module):
    """Keras DenseNet (models.DenseLayer: BN-ReLU-1x1-BN-ReLU-3x3, bottleneck 4 x growth) with
    growth rate `growth` (32 in the zoo's DenseNet201) and `blocks` layers per dense block."""

    def __init__(self, k):
        super().__init__()
        e, g = M.DENSENET_BN_EPS, k["growth"]
        c = 2 * g
        layers = [nn.ZeroPad2d(3), nn.Conv2d(3, c, 7, 2, bias=False), M.bn(c, e), nn.ReLU(),
                  nn.ZeroPad2d(1), nn.MaxPool2d(3, 2)]
        for i, n in enumerate(k["blocks"]):
            for _ in range(n):
                layers.append(M.DenseLayer(c, g))
                c += g
            if i != len(k["blocks"]) - 1:
                layers += [M.bn(c, e), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False),
                           nn.AvgPool2d(2, 2)]
                c //= 2
        layers += [M.bn(c, e), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = M.KerasDenseHead(c)

    def forward(self, x):
        return self.head(self.features(x))


def _shufflenetv2_draw(r):
    return {"width": r.choice([0.5, 0.75, 0.875]),
            "depth": [r.randint(2, 4), r.randint(3, 8), r.randint(2, 4)],
            "resolution": r.choice(RESOLUTIONS)}


def _shufflenetv2_build(k):
    """torchvision ShuffleNetV2 with the 1.0x stage channels (116, 232, 464) scaled by `width`
    (kept even) and `depth` repeats per stage (4, 8, 4 in the original)."""
    from torchvision.models import ShuffleNetV2
    ch = [2 * round(c * k["width"] / 2) for c in (116, 232, 464)]
    return ShuffleNetV2(k["depth"], [24] + ch + [1024])


def _squeezenet_draw(r):
    return {"width": r.choice([0.5, 0.625, 0.75]), "squeeze_ratio": r.choice([0.125, 0.25]),
            "depth": [r.randint(1, 3), r.randint(1, 3), r.randint(1, 4)],
            "resolution": r.choice(RESOLUTIONS)}


class VariantSqueezeNet(nn.Module):
    """SqueezeNet 1.1 layout (torchvision Fire modules) with expand channels 128 x 2^stage x
    `width`, squeeze = `squeeze_ratio` x expand, `depth` Fire modules per stage; torchvision's
    head (1x1 conv to the classes, ReLU, global average pool)."""

    def __init__(self, k):
        super().__init__()
        from torchvision.models.squeezenet import Fire
        c = int(64 * k["width"])
        layers = [nn.Conv2d(3, c, 3, 2), nn.ReLU()]
        for i, n in enumerate(k["depth"]):
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
            e = int(64 * 2 ** i * k["width"])
            for _ in range(n):
                layers.append(Fire(c, max(8, int(2 * e * k["squeeze_ratio"])), e, e))
                c = 2 * e
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(c, 1000, 1), nn.ReLU(),
                                        nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def _vgg_draw(r):
    return {"width": r.choice([8, 12, 16, 24, 32]), "depth": [r.randint(1, 2), r.randint(1, 2),
                                                          r.randint(1, 3), r.randint(1, 3),
                                                          r.randint(1, 3)],
            "hidden": r.choice([256, 512, 1024]), "resolution": r.choice(RESOLUTIONS)}


class VariantVGG(nn.Module):
    """torchvision's VGG feature layers (make_layers: 3x3 conv + ReLU, max pool per stage) with
    channels `width` x (1, 2, 4, 8, 8) (64 in VGG16) and `depth` convs per stage; a small
    classifier (global average pool, Linear-ReLU-Linear with `hidden` units)."""

    def __init__(self, k):
        super().__init__()
        from torchvision.models.vgg import make_layers
        cfg = []
        for mult, n in zip((1, 2, 4, 8, 8), k["depth"]):
            cfg += [k["width"] * mult] * n + ["M"]
        self.features = make_layers(cfg)
        c = 8 * k["width"]
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(c, k["hidden"]), nn.ReLU(),
                                        nn.Linear(k["hidden"], 1000))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def _xception_draw(r):
    return {"width": r.choice([0.125, 0.1875, 0.25]), "depth": r.randint(1, 4),
            "resolution": r.choice(RESOLUTIONS)}


class VariantXception(nn.Module):
    """Keras Xception (models.XceptionBlock / XceptionMiddle / SeparableConv) with channels
    scaled by `width` and `depth` middle-flow blocks (8 in the original)."""

    def __init__(self, k):
        super().__init__()
        ch = lambda v: M.make_divisible(v * k["width"], 8)  # noqa: E731
        size = M.conv_out(M.conv_out(k["resolution"], 3, 2, 0), 3, 1, 0)
        layers = [nn.Conv2d(3, ch(32), 3, 2, bias=False), M.bn(ch(32)), nn.ReLU(),
                  nn.Conv2d(ch(32), ch(64), 3, bias=False), M.bn(ch(64)), nn.ReLU()]
        c = ch(64)
        for cout, first_relu in [(ch(128), False), (ch(256), True), (ch(728), True)]:
            blk = M.XceptionBlock(c, cout, cout, size, first_relu)
            layers.append(blk)
            c, size = cout, blk.size
        layers += [M.XceptionMiddle(c) for _ in range(k["depth"])]
        layers += [M.XceptionBlock(c, c, ch(1024), size), M.SeparableConv(ch(1024), ch(1536)),
                   M.bn(ch(1536)), nn.ReLU(), M.SeparableConv(ch(1536), ch(2048)),
                   M.bn(ch(2048)), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = M.KerasDenseHead(ch(2048))

    def forward(self, x):
        return self.head(self.features(x))


class Family:
    def __init__(self, name, zoo_models, draw, build):
        self.name, self.zoo_models, self.draw, self.build = name, zoo_models, draw, build


FAMILIES = [
    Family("resnet", ["resnet18", "resnet50"], _resnet_draw, VariantResNet),
    Family("mobilenetv1", ["mobilenetv1"], _mobilenetv1_draw, VariantMobileNetV1),
    Family("mobilenetv2", ["mobilenetv2"], _mobilenetv2_draw, VariantMobileNetV2),
    Family("mobilenetv3", ["mobilenetv3small"], _mobilenetv3_draw, _mobilenetv3_build),
    Family("efficientnet", ["efficientnetb0"], _efficientnet_draw, VariantEfficientNet),
    Family("densenet", ["densenet201"], _densenet_draw, VariantDenseNet),
    Family("shufflenetv2", ["shufflenetv2"], _shufflenetv2_draw, _shufflenetv2_build),
    Family("squeezenet", ["squeezenet11"], _squeezenet_draw, VariantSqueezeNet),
    Family("vgg", ["vgg16"], _vgg_draw, VariantVGG),
    Family("xception", ["xception"], _xception_draw, VariantXception),
]
BY_NAME = {f.name: f for f in FAMILIES}


# ----------------------------------------------------------------------------- generation
def knob_draws(family, seed):
    """The family's knob draws for `seed`, in order, without repeats (an endless generator)."""
    rng = random.Random(f"edgebench-variants/{seed}/{family.name}")
    seen = set()
    while True:
        knobs = family.draw(rng)
        key = json.dumps(knobs, sort_keys=True)
        if key not in seen:
            seen.add(key)
            yield knobs


def export_variant(family, knobs, seed, index, path):
    """Builds the variant with the zoo's deterministic weights and exports it to `path` as the
    zoo exports; returns count.count of the written ONNX."""
    shape = (1, 3, knobs["resolution"], knobs["resolution"])
    name = f"{family.name}_{index}"
    weight_seed = zlib.crc32(f"{seed}/{name}".encode()) & 0x7FFFFFFF
    spec = zoo.Spec(name, lambda: family.build(knobs), shape, weight_seed, "variant",
                    f"{family.name} variant {json.dumps(knobs, sort_keys=True)}")
    model = zoo.build_model(spec)
    x = zoo.reference_input(spec)
    export.export_onnx(model, x, path, zoo.DEFAULT_OPSET,
                       metadata={"edgebench_variant": name, "edgebench_variant_seed": seed})
    return count.count(path)


def generate_family(family, out, per_family, seed, log):
    """Writes out/<family>_<i>.onnx for i = 1..per_family; returns their variants.json entries."""
    entries = []
    draws = knob_draws(family, seed)
    for index in range(1, per_family + 1):
        file = f"{family.name}_{index}.onnx"
        path = os.path.join(out, file)
        tmp = zoo.tmp_name(path)
        try:
            for attempt in range(1, MAX_DRAWS + 1):
                knobs = next(draws)
                c = export_variant(family, knobs, seed, index, tmp)
                if MIN_FLOPS <= c["flops"] <= MAX_FLOPS:
                    break
            else:
                raise RuntimeError(f"{file}: no draw within {MAX_FLOPS / 1e6:.0f} MFLOPs in "
                                   f"{MAX_DRAWS} tries")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        shape = [1, 3, knobs["resolution"], knobs["resolution"]]
        entries.append({"file": file, "family": family.name, "knobs": knobs,
                        "input_shape": shape, "flops": c["flops"], "params": c["params"],
                        "sha256": zoo.sha256(path)})
        log(f"  {file:20s} {c['flops'] / 1e6:7.1f} MFLOPs {c['params'] / 1e6:6.2f} M params  "
            f"draw {attempt}  {json.dumps(knobs, sort_keys=True)}")
    return entries


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate held-out architecture variants.")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--per-family", type=int, default=5, help="variants per family (default 5)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the knob draws (default 1)")
    ap.add_argument("--families", help="comma-separated families (default: all)")
    ap.add_argument("--list", action="store_true", help="list the families and exit")
    a = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    if a.list:
        for f in FAMILIES:
            log(f"{f.name:13s} zoo: {', '.join(f.zoo_models)}")
        return 0
    if not a.out:
        ap.error("--out DIR is required")
    if a.per_family < 1:
        ap.error("--per-family must be at least 1")
    families = FAMILIES
    if a.families:
        names = [n.strip() for n in a.families.split(",") if n.strip()]
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            ap.error(f"unknown families: {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
        families = [BY_NAME[n] for n in names]
    os.makedirs(a.out, exist_ok=True)
    index_path = os.path.join(a.out, "variants.json")
    if os.path.exists(index_path):  # no index while its files are being replaced
        os.remove(index_path)
    t0 = time.time()
    log(f"edgebench variants: torch {torch.__version__}, seed {a.seed}, {a.per_family} per "
        f"family, {len(families)} families -> {a.out}")
    variants = []
    for f in families:
        log(f"{f.name}:")
        variants += generate_family(f, a.out, a.per_family, a.seed, log)
    doc = {"schema": SCHEMA, "seed": a.seed,
           "families": {f.name: {"zoo_models": f.zoo_models} for f in families},
           "variants": variants}
    tmp = zoo.tmp_name(index_path)
    with open(tmp, "w") as fp:
        json.dump(doc, fp, indent=2)
        fp.write("\n")
    os.replace(tmp, index_path)
    log(f"done: {len(variants)} variants in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
