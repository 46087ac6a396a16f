#!/usr/bin/python3
"""Writes the small model files of tests/data/malformed/ (committed; rerun after changing this).

ONNX files come from the onnx package (Debian python3-onnx: run with /usr/bin/python3); TFLite
files are JSON descriptions in edgebench's TFLite schema (src/tflite_schema/tflite_schema.fbs)
compiled by flatc. Each file holds one defect (or, for *_valid, one structure TFLite 2.2 runs
that a structure check must not refuse); tests/cli_test.cc runs edgebench on them.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "..", "src", "tflite_schema", "tflite_schema.fbs")


def write_onnx(name, model, replacements=()):
    data = model.SerializeToString()
    for placeholder, raw in replacements:  # same length: protobuf lengths stay valid
        assert len(placeholder) == len(raw) and placeholder in data
        data = data.replace(placeholder, raw)
    with open(os.path.join(HERE, name), "wb") as out:
        out.write(data)


def relu_model(input_name, dims, node_name="relu"):
    graph = helper.make_graph(
        [helper.make_node("Relu", [input_name], ["y"], name=node_name)], "g",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="generate.py")


def floats(count, scale=0.01):
    return list(struct.pack("<%df" % count, *[scale * (i % 7) for i in range(count)]))


def conv_model(stride=1, dilation=1, filter_channels=3, filter_bytes=None, options=True,
               bias_index=2):
    """CONV_2D 3x3, 3 -> 4 channels on a 1x8x8x3 input; arguments bend one part of it."""
    filter_count = 4 * 3 * 3 * filter_channels
    filter_data = floats(filter_count)[: filter_bytes if filter_bytes is not None else 4 * filter_count]
    operator = {"opcode_index": 0, "inputs": [0, 1, bias_index], "outputs": [3]}
    if options:
        operator["builtin_options_type"] = "Conv2DOptions"
        operator["builtin_options"] = {"padding": "SAME", "stride_w": stride, "stride_h": stride,
                                       "dilation_w_factor": dilation, "dilation_h_factor": dilation}
    return {
        "version": 3,
        "operator_codes": [{"deprecated_builtin_code": 3, "builtin_code": "CONV_2D", "version": 1}],
        "subgraphs": [{
            "tensors": [
                {"shape": [1, 8, 8, 3], "type": "FLOAT32", "buffer": 0, "name": "input"},
                {"shape": [4, 3, 3, filter_channels], "type": "FLOAT32", "buffer": 1, "name": "filter"},
                {"shape": [4], "type": "FLOAT32", "buffer": 2, "name": "bias"},
                {"shape": [1, 8, 8, 4], "type": "FLOAT32", "buffer": 0, "name": "output"},
            ],
            "inputs": [0], "outputs": [3], "operators": [operator], "name": "main"}],
        "description": "generate.py",
        "buffers": [{}, {"data": filter_data}, {"data": floats(4)}],
    }


def pool_model(filter_size):
    return {
        "version": 3,
        "operator_codes": [{"deprecated_builtin_code": 17, "builtin_code": "MAX_POOL_2D", "version": 1}],
        "subgraphs": [{
            "tensors": [
                {"shape": [1, 8, 8, 3], "type": "FLOAT32", "buffer": 0, "name": "input"},
                {"shape": [1, 4, 4, 3], "type": "FLOAT32", "buffer": 0, "name": "output"},
            ],
            "inputs": [0], "outputs": [1],
            "operators": [{"opcode_index": 0, "inputs": [0], "outputs": [1],
                           "builtin_options_type": "Pool2DOptions",
                           "builtin_options": {"padding": "VALID", "stride_w": 2, "stride_h": 2,
                                               "filter_width": filter_size, "filter_height": filter_size}}],
            "name": "main"}],
        "description": "generate.py",
        "buffers": [{}],
    }


def fully_connected_model(columns, bias_index=-1):
    """FULLY_CONNECTED of a 1x8 input with 4x`columns` weights; the bias omitted (-1) by default."""
    return {
        "version": 3,
        "operator_codes": [{"deprecated_builtin_code": 9, "builtin_code": "FULLY_CONNECTED", "version": 1}],
        "subgraphs": [{
            "tensors": [
                {"shape": [1, 8], "type": "FLOAT32", "buffer": 0, "name": "input"},
                {"shape": [4, columns], "type": "FLOAT32", "buffer": 1, "name": "weights"},
                {"shape": [1, 4], "type": "FLOAT32", "buffer": 0, "name": "output"},
            ],
            "inputs": [0], "outputs": [2],
            "operators": [{"opcode_index": 0, "inputs": [0, 1, bias_index], "outputs": [2],
                           "builtin_options_type": "FullyConnectedOptions",
                           "builtin_options": {"fused_activation_function": "NONE"}}],
            "name": "main"}],
        "description": "generate.py",
        "buffers": [{}, {"data": floats(4 * columns)}],
    }


def empty_shape_reshape_model():
    """The structure of a keyword-spotting model that TFLite 2.2 runs: RESHAPE to a scalar reads a
    shape tensor of no elements whose buffer is empty (a constant with nothing to store), which no
    operator writes; a variable tensor is read before anything writes it too."""
    return {
        "version": 3,
        "operator_codes": [{"deprecated_builtin_code": 22, "builtin_code": "RESHAPE", "version": 1},
                           {"deprecated_builtin_code": 0, "builtin_code": "ADD", "version": 1}],
        "subgraphs": [{
            "tensors": [
                {"shape": [1, 1], "type": "FLOAT32", "buffer": 0, "name": "input"},
                {"shape": [0], "type": "INT32", "buffer": 1, "name": "empty_shape"},
                {"shape": [], "type": "FLOAT32", "buffer": 0, "name": "scalar"},
                {"shape": [], "type": "FLOAT32", "buffer": 0, "name": "state", "is_variable": True},
                {"shape": [], "type": "FLOAT32", "buffer": 0, "name": "output"},
            ],
            "inputs": [0], "outputs": [4],
            "operators": [
                {"opcode_index": 0, "inputs": [0, 1], "outputs": [2],
                 "builtin_options_type": "ReshapeOptions", "builtin_options": {"new_shape": []}},
                {"opcode_index": 1, "inputs": [2, 3], "outputs": [4],
                 "builtin_options_type": "AddOptions", "builtin_options": {}}],
            "name": "main"}],
        "description": "generate.py",
        "buffers": [{}, {}],
    }


def first_rnn_model(x_dims):
    """An RNN of opset 6 (RNN-1) that verifies against its schema, X of any rank."""
    hidden = 4
    graph = helper.make_graph(
        [helper.make_node("RNN", ["x", "w", "r"], ["y"], name="rnn", hidden_size=hidden)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("w", TensorProto.FLOAT, [1, hidden, 3], [0.01] * (hidden * 3)),
         helper.make_tensor("r", TensorProto.FLOAT, [1, hidden, hidden], [0.01] * (hidden * hidden))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)], producer_name="generate.py")


def write_tflite(name, model):
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, os.path.splitext(name)[0] + ".json")
        with open(source, "w") as out:
            json.dump(model, out)
        subprocess.run(["flatc", "--binary", "-o", scratch, SCHEMA, source], check=True)
        os.replace(os.path.join(scratch, name), os.path.join(HERE, name))


def main():
    # Invalid UTF-8 in the input's name and in the node's name.
    write_onnx("onnx_invalid_utf8_name.onnx", relu_model("INPUTXXX", [1, 3, 4, 4], node_name="NODEXXXX"),
               [(b"INPUTXXX", b"in\xff\xfeput!"[:8]), (b"NODEXXXX", b"relu\xc3\x28\x80\x81")])
    # 1x3x2^32x32: under 2^40 elements, 1.5 TiB of float32.
    write_onnx("onnx_huge_input.onnx", relu_model("input", [1, 3, 2**32, 32]))
    write_onnx("onnx_rnn1_input_of_rank_1.onnx", first_rnn_model([5]))

    write_tflite("tflite_conv_valid.tflite", conv_model())
    write_tflite("tflite_conv_stride0.tflite", conv_model(stride=0))
    write_tflite("tflite_conv_dilation0.tflite", conv_model(dilation=0))
    write_tflite("tflite_conv_no_options.tflite", conv_model(options=False))
    write_tflite("tflite_conv_filter_channels.tflite", conv_model(filter_channels=5))
    write_tflite("tflite_conv_short_buffer.tflite", conv_model(filter_bytes=100))
    write_tflite("tflite_conv_bias_omitted.tflite", conv_model(bias_index=-1))
    write_tflite("tflite_pool_filter0.tflite", pool_model(0))
    write_tflite("tflite_fully_connected_valid.tflite", fully_connected_model(8))
    write_tflite("tflite_fully_connected_zero_columns.tflite", fully_connected_model(0))
    write_tflite("tflite_empty_shape_valid.tflite", empty_shape_reshape_model())


if __name__ == "__main__":
    sys.exit(main())
