#!/usr/bin/python3
"""Self-tests of the zoo tooling (no files written outside a temp dir).

    /usr/bin/python3 tools/zoo/test_zoo.py          (about 30 s; VariantsTest about 1-2 min)
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import count  # noqa: E402


def _init(name, shape):
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


class CountTest(unittest.TestCase):
    def test_hand_made_graph(self):
        # Conv 3->8 3x3 pad 1 on 8x8; depthwise 3x3 stride 2 (group 8); flatten; Gemm 128->10;
        # MatMul [1,10] x [10,4]
        nodes = [
            helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1]),
            helper.make_node("Conv", ["c1", "w2"], ["c2"], kernel_shape=[3, 3], strides=[2, 2],
                             pads=[0, 0, 1, 1], group=8),
            helper.make_node("Flatten", ["c2"], ["f"], axis=1),
            helper.make_node("Gemm", ["f", "w3", "b3"], ["g"], transB=1),
            helper.make_node("MatMul", ["g", "w4"], ["y"]),
        ]
        inits = [_init("w1", [8, 3, 3, 3]), _init("b1", [8]), _init("w2", [8, 1, 3, 3]),
                 _init("w3", [10, 128]), _init("b3", [10]), _init("w4", [10, 4])]
        g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info(
            "x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 10)])
        onnx.checker.check_model(m)
        r = count.count(m)
        conv1 = 8 * 8 * 8 * 3 * 9
        dw = 8 * 4 * 4 * 9  # output 4x4, one input channel per group
        gemm = 128 * 10
        mm = 10 * 4
        self.assertEqual(r["macs"], conv1 + dw + gemm + mm)
        self.assertEqual(r["flops"], 2 * r["macs"])
        self.assertEqual(r["params"], 216 + 8 + 72 + 1280 + 10 + 40)
        self.assertEqual(r["ops"]["Conv(depthwise)"], 1)
        self.assertEqual(count.count(m, batch=2)["macs"], 2 * (conv1 + dw + gemm + mm))


class KerasArchitectureTest(unittest.TestCase):
    """Keras-style parameter totals (weights + BN moving stats) equal Keras' model.summary()."""

    def test_param_totals(self):
        import torch
        import zoo
        cases = {"mobilenetv1": 4253864, "mobilenetv2": 3538984, "resnet50": 25636712,
                 "efficientnetb0": 5330571, "densenet201": 20242984, "xception": 22910480}
        for name, ref in cases.items():
            spec = zoo.BY_NAME[name]
            m = spec.build().eval()
            self.assertEqual(zoo.keras_style_params(m), ref, name)
            with torch.no_grad():
                y = m(torch.zeros(spec.input_shape))
            self.assertEqual(tuple(y.shape), (1, 1000), name)

    def test_tf_same_padding(self):
        import models as M
        self.assertEqual(M.tf_same_pads(224, 3, 2), (0, 1))
        self.assertEqual(M.tf_same_pads(56, 5, 2), (1, 2))
        self.assertEqual(M.tf_same_pads(147, 3, 2), (1, 1))
        self.assertEqual(M.tf_same_pads(74, 3, 2), (0, 1))
        self.assertEqual(M.tf_same_pads(14, 3, 1), (1, 1))


class ExportTest(unittest.TestCase):
    def test_tiny_roundtrip_reproducible(self):
        import zoo
        with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
            for d in (d1, d2):  # a fresh process, as a user runs it
                r = subprocess.run([sys.executable, os.path.join(HERE, "zoo.py"), "--out", d,
                                    "--only", "tinycnn,mobilenetv1"], capture_output=True,
                                   text=True)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            for name in ("tinycnn", "mobilenetv1"):
                p1, p2 = zoo.paths(d1, name), zoo.paths(d2, name)
                for k in ("onnx", "pt", "json"):
                    self.assertEqual(zoo.sha256(p1[k]), zoo.sha256(p2[k]), f"{name} {k}")
            m = onnx.load(zoo.paths(d1, "mobilenetv1")["onnx"])
            ops = count.count(m)["ops"]
            # the counts in TFLite's profile of the Keras MobileNetV1: 15 Conv2D, 13 DW, 4 Pad
            self.assertEqual((ops["Conv"], ops["Conv(depthwise)"], ops["Pad"]), (15, 13, 4))
            self.assertNotIn("Identity", ops)
            self.assertEqual(m.opset_import[0].version, zoo.DEFAULT_OPSET)


class VariantsTest(unittest.TestCase):
    """variants.py: one file per family and variant, an index naming them, reproducible."""

    def run_variants(self, out, *args):
        r = subprocess.run([sys.executable, os.path.join(HERE, "variants.py"), "--out", out,
                            "--per-family", "1", "--seed", "3", *args], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(out, "variants.json")) as f:
            return json.load(f)

    def test_every_family_written_and_reproducible(self):
        import variants
        import zoo
        with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
            doc = self.run_variants(d1)
            self.assertEqual(doc["schema"], "edgebench.variants/1")
            self.assertEqual(doc["seed"], 3)
            families = [v["family"] for v in doc["variants"]]
            self.assertEqual(families, [f.name for f in variants.FAMILIES])
            self.assertGreaterEqual(len(set(families)), 8)
            for v in doc["variants"]:
                self.assertEqual(v["file"], v["family"] + "_1.onnx")
                m = onnx.load(os.path.join(d1, v["file"]))
                self.assertEqual(m.opset_import[0].version, zoo.DEFAULT_OPSET)
                dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
                self.assertEqual(dims, v["input_shape"], v["file"])
                self.assertEqual(v["input_shape"][2], v["knobs"]["resolution"])
                self.assertEqual(count.count(m)["flops"], v["flops"])
                self.assertTrue(variants.MIN_FLOPS <= v["flops"] <= variants.MAX_FLOPS, v)
                self.assertEqual(zoo.sha256(os.path.join(d1, v["file"])), v["sha256"])
            self.assertEqual(len({v["sha256"] for v in doc["variants"]}), len(families))
            # A fresh process, a subset of the families: the same files for the same seed.
            again = self.run_variants(d2, "--families", "squeezenet,mobilenetv2")
            first = {v["file"]: v for v in doc["variants"]}
            for v in again["variants"]:
                self.assertEqual(v, first[v["file"]])

    def test_draws_depend_on_the_seed_and_never_repeat(self):
        import itertools
        import variants
        for f in variants.FAMILIES:
            a = list(itertools.islice(variants.knob_draws(f, 1), 6))
            b = list(itertools.islice(variants.knob_draws(f, 2), 6))
            self.assertEqual(a, list(itertools.islice(variants.knob_draws(f, 1), 6)), f.name)
            self.assertNotEqual(a, b, f.name)
            self.assertEqual(len({json.dumps(k, sort_keys=True) for k in a}), 6, f.name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
