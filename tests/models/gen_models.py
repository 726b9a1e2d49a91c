#!/usr/bin/env python3
"""Writes the synthetic ONNX test models used by the model oracle tests.

The models follow the topologies (and the node/initializer naming style) that
PyTorch's ONNX exporter produces for the real networks, with random weights
instead of trained ones.  Weights are drawn per tensor from a generator seeded
by (model, weight group, tensor name), so a tensor's bytes never depend on
generation order or on which other models are written.

Scales: random weights alone make deep CNNs blow up or die out, because a
BatchNormalization with made-up statistics normalizes nothing, and estimates
of the statistics drift when propagated through 50 layers.  So each CNN
builder runs its network forward (numpy, float64) on one fixed random input
while it builds it, the way data-dependent initialization does: every
BatchNormalization gets running statistics close to (a little noise off) the
real batch statistics of its input, as a trained net has, and convs/linears
that no norm follows are scaled by their input's second moment.  Activations
therefore stay O(1) everywhere.  Every number that comes out of the
calibration is rounded to bfloat16 precision before use, so last-bit
differences between BLAS builds cannot change the bytes: the files are
byte-identical from run to run (and, barring a 1e-9-ish chance, machine to
machine).  MobileNetV2 is written as eval-mode exports write it: BN folded
into the Conv weight and bias.  BERT needs no calibration (LayerNorm).

Usage: gen_models.py --out DIR [--only name,...] [--layers N] [--variant K,...]
"""

import argparse
import os
import sys
import time
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import speech_model

OPSET = 17
IR_VERSION = 8  # what exporters write for opset 17; keeps the files readable by older parsers
# Image side of the CNN inputs; --image-size shrinks it (a multiple of 32) so that CPU-only runs
# of whole mixes (scripts/gpu_proof.sh --dry-run) stay fast. None: each model's usual size.
IMAGE_SIZE = None


def _seed(*parts):
    """Seed sequence from names and ints; crc32 keeps it stable across Python runs."""
    return [zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in parts]


def bf16(a):
    """Rounds to the nearest bfloat16 value (ties to even), returned as float32."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


class Graph:
    """Accumulates nodes and initializers; 'val' holds calibration activations (float64)."""

    def __init__(self, model_name, seed_group=0):
        self.model_name = model_name
        self.seed_group = seed_group
        self.nodes = []
        self.inits = []
        self.node_names = set()
        self.init_names = set()
        self.val = {}
        self.name_counts = {}
        self.onnx_counter = 100  # "onnx::MatMul_123" names the exporter gives anonymous weights

    # ---- random tensors -------------------------------------------------
    def rng(self, name, group=None):
        g = self.seed_group if group is None else group
        return np.random.default_rng(_seed(self.model_name, g, name))

    def normal(self, name, shape, std, group=None):
        a = self.rng(name, group).standard_normal(shape, dtype=np.float32)
        return (a * bf16(std)).astype(np.float32)

    def uniform(self, name, shape, lo, hi, group=None):
        a = self.rng(name, group).random(shape, dtype=np.float32)
        return (a * np.float32(hi - lo) + np.float32(lo)).astype(np.float32)

    # ---- graph building -------------------------------------------------
    def init(self, name, arr):
        if name in self.init_names:
            raise ValueError("duplicate initializer " + name)
        self.init_names.add(name)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def anon_init(self, kind, arr):
        self.onnx_counter += 1
        return self.init("onnx::%s_%d" % (kind, self.onnx_counter), arr)

    def node(self, op, inputs, name, n_out=1, outputs=None, val=None, **attrs):
        if name in self.node_names:
            raise ValueError("duplicate node name " + name)
        self.node_names.add(name)
        if outputs is None:
            outputs = ["%s_output_%d" % (name, i) for i in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=name, **attrs))
        if val is not None:
            self.val[outputs[0]] = val
        return outputs[0] if len(outputs) == 1 else outputs

    def uname(self, sc, op):
        """Next exporter-style node name for 'op' in scope 'sc': Shape, Shape_1, Shape_2, ..."""
        n = self.name_counts.get((sc, op), 0)
        self.name_counts[(sc, op)] = n + 1
        return "%s/%s" % (sc, op) if n == 0 else "%s/%s_%d" % (sc, op, n)

    def const(self, name, value, dtype=None):
        arr = np.array(value, dtype=dtype)
        return self.node("Constant", [], name, value=numpy_helper.from_array(arr, ""))

    def e2(self, x):
        """Second moment of a calibration activation (what weight scales are set from)."""
        v = self.val[x]
        return float(np.mean(v * v))

    def model(self, graph_name, inputs, outputs, doc=""):
        g = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.inits)
        m = helper.make_model(
            g,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="pytorch",
            producer_version="2.1.0",
            doc_string=doc,
        )
        m.ir_version = IR_VERSION
        return m


def scope(path, lists=()):
    """'layer1.0.downsample.0' -> '/layer1/layer1.0/downsample/downsample.0' (exporter style).

    Children of an nn.Sequential are scoped under it; an nn.ModuleList (named in
    'lists') is never called, so it adds no scope of its own: 'encoder.layer.0'
    -> '/encoder/layer.0'."""
    comps = []
    for part in path.split("."):
        if part.isdigit() and comps:
            parent = comps.pop() if comps[-1] in lists else comps[-1]
            comps.append(parent + "." + part)
        else:
            comps.append(part)
    return "/" + "/".join(comps)


# ---- numpy float64 forward pass used for calibration ----------------------
def np_conv(x, w, b, stride, pad, groups):
    w = w.astype(np.float64)
    cout, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    ho = (xp.shape[2] - k) // stride + 1
    wo = (xp.shape[3] - k) // stride + 1
    if groups == 1:
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    elif groups == x.shape[1] == cout:  # depthwise: exact elementwise accumulation
        y = np.zeros((x.shape[0], cout, ho, wo))
        for i in range(k):
            for j in range(k):
                y += xp[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride] \
                    * w[None, :, 0, i, j, None, None]
    else:
        raise NotImplementedError("grouped conv")
    if b is not None:
        y = y + b.astype(np.float64)[None, :, None, None]
    return np.ascontiguousarray(y)


def np_act(kind, x):
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "relu6":
        return np.clip(x, 0.0, 6.0)
    if kind == "leaky":
        return np.where(x > 0, x, 0.1 * x)
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    raise ValueError(kind)


def chan_stats(v):
    axes = (0,) + tuple(range(2, v.ndim))
    return v.mean(axis=axes), v.var(axis=axes)


# ---- layers: emit the node and compute its calibration output --------------
def conv_params(g, path, x, cin, cout, k, groups=1, bias=False, gain=1.0, group=None):
    """Weights scaled so the output's second moment is ~gain^2 given x's calibration values."""
    std = gain / np.sqrt((cin // groups) * k * k * g.e2(x))
    w = g.normal(path + ".weight", (cout, cin // groups, k, k), std, group=group)
    b = g.normal(path + ".bias", (cout,), 0.05 * gain, group=group) if bias else None
    return w, b


def conv_node(g, path, x, w, b, k, stride, groups, lists=(), val=None):
    p = k // 2
    ins = [x, g.init(path + ".weight", w)]
    if b is not None:
        ins.append(g.init(path + ".bias", b))
    if val is None:
        val = np_conv(g.val[x], w, b, stride, p, groups)
    return g.node("Conv", ins, scope(path, lists) + "/Conv", val=val, dilations=[1, 1], group=groups,
                  kernel_shape=[k, k], pads=[p, p, p, p], strides=[stride, stride])


def conv(g, path, x, cin, cout, k, stride=1, groups=1, bias=False, gain=1.0, group=None, lists=()):
    w, b = conv_params(g, path, x, cin, cout, k, groups, bias, gain, group)
    return conv_node(g, path, x, w, b, k, stride, groups, lists=lists)


def bn_params(g, path, xval, c, gamma, group):
    """BN parameters whose running statistics are a little off the input's real statistics."""
    mean, var = chan_stats(xval)
    gam = g.uniform(path + ".weight", (c,), 0.8 * gamma, 1.2 * gamma, group)
    bet = g.normal(path + ".bias", (c,), 0.1 * gamma, group=group)
    noise_m = g.normal(path + ".running_mean", (c,), 0.05, group=group).astype(np.float64)
    noise_v = g.uniform(path + ".running_var", (c,), 0.8, 1.25, group).astype(np.float64)
    rm = bf16(mean + noise_m * np.sqrt(var))
    rv = bf16(np.maximum(var * noise_v, 1e-4))
    return gam, bet, rm, rv


def bn_apply(xval, gam, bet, rm, rv, eps):
    s = gam.astype(np.float64) / np.sqrt(rv.astype(np.float64) + eps)
    sh = (1, -1) + (1,) * (xval.ndim - 2)
    return (xval - rm.astype(np.float64).reshape(sh)) * s.reshape(sh) + bet.astype(np.float64).reshape(sh)


def batchnorm(g, path, x, c, eps=1e-5, gamma=1.0, group=None, lists=()):
    gam, bet, rm, rv = bn_params(g, path, g.val[x], c, gamma, group)
    ins = [x] + [g.init(path + sfx, a) for sfx, a in
                 ((".weight", gam), (".bias", bet), (".running_mean", rm), (".running_var", rv))]
    return g.node("BatchNormalization", ins, scope(path, lists) + "/BatchNormalization",
                  val=bn_apply(g.val[x], gam, bet, rm, rv, eps), epsilon=eps, momentum=0.9)


def act(g, kind, x, name, inputs=None, **attrs):
    op = {"relu": "Relu", "relu6": "Clip", "leaky": "LeakyRelu", "sigmoid": "Sigmoid"}[kind]
    return g.node(op, inputs or [x], name, val=np_act(kind, g.val[x]), **attrs)


def silu(g, sc, x):
    """SiLU as the exporter writes it: x * Sigmoid(x)."""
    s = act(g, "sigmoid", x, sc + "/Sigmoid")
    return mul(g, x, s, sc + "/Mul")


def add(g, a, b, name):
    return g.node("Add", [a, b], name, val=g.val[a] + g.val[b])


def mul(g, a, b, name):
    return g.node("Mul", [a, b], name, val=g.val[a] * g.val[b])


def gap(g, x, name):
    return g.node("GlobalAveragePool", [x], name, val=g.val[x].mean(axis=(2, 3), keepdims=True))


def maxpool(g, x, name, k, stride, pad):
    v = g.val[x]
    vp = np.pad(v, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf) if pad else v
    win = np.lib.stride_tricks.sliding_window_view(vp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return g.node("MaxPool", [x], name, val=win.max(axis=(4, 5)), ceil_mode=0, kernel_shape=[k, k],
                  pads=[pad] * 4, strides=[stride, stride])


def flatten(g, x, name):
    v = g.val[x]
    return g.node("Flatten", [x], name, val=v.reshape(v.shape[0], -1), axis=1)


def linear_gemm(g, path, x, cin, cout, group=None, std=None):
    """Linear on 2-D input as the exporter writes it: Gemm with transB=1."""
    if std is None:
        std = 1.0 / np.sqrt(cin * g.e2(x))
    w = g.normal(path + ".weight", (cout, cin), std, group=group)
    b = g.normal(path + ".bias", (cout,), 0.05 * std * np.sqrt(cin), group=group)
    val = None
    if x in g.val:
        val = g.val[x] @ w.astype(np.float64).T + b.astype(np.float64)
    return g.node("Gemm", [x, g.init(path + ".weight", w), g.init(path + ".bias", b)], scope(path) + "/Gemm",
                  val=val, alpha=1.0, beta=1.0, transB=1)


def image_input(g, name, c, h, w, calib_batch):
    """Declares an image input; the calibration batch is several images so that BN statistics
    include image-to-image variation (a 7x7 map of one image alone underestimates it)."""
    g.val[name] = g.rng("calibration input", 0).standard_normal((calib_batch, c, h, w))
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", c, h, w])


def classifier_io(g, name_in, name_out, n_out, calib_batch):
    size = IMAGE_SIZE or 224
    return ([image_input(g, name_in, 3, size, size, calib_batch)],
            [helper.make_tensor_value_info(name_out, TensorProto.FLOAT, ["batch", n_out])])


def rename_output(g, value, new_name):
    """Makes the last node write 'new_name' (graph outputs get plain names, as exporters do)."""
    last = g.nodes[-1]
    assert last.output[0] == value
    last.output[0] = new_name
    if value in g.val:
        g.val[new_name] = g.val[value]
    return new_name


# ---------------------------------------------------------------- ResNet-50
def resnet_groups(variant):
    """Weight groups of fine-tuned variants: all share the frozen stem, layer1 and layer2; variants
    2j and 2j+1 share layer3 (tuned together); layer4 and fc are each variant's own."""
    v = 0 if variant is None else variant
    return {"stem": 0, "layer1": 0, "layer2": 0, "layer3": 100 + v // 2, "rest": 1000 + v}


def build_resnet50(variant=None):
    name = "resnet50" if variant is None else "resnet50_v%d" % variant
    g = Graph("resnet50")  # one seed family for all variants; groups pick what is shared
    groups = resnet_groups(variant)
    ins, outs = classifier_io(g, "input", "output", 1000, 4)

    def grp(path):
        top = path.split(".")[0]
        return groups["stem"] if top in ("conv1", "bn1") else groups.get(top, groups["rest"])

    x = conv(g, "conv1", "input", 3, 64, 7, stride=2, group=grp("conv1"))
    x = batchnorm(g, "bn1", x, 64, group=grp("bn1"))
    x = act(g, "relu", x, "/relu/Relu")
    x = maxpool(g, x, "/maxpool/MaxPool", 3, 2, 1)
    cin = 64
    for li, (blocks, width, stride) in enumerate([(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)]):
        for b in range(blocks):
            p = "layer%d.%d" % (li + 1, b)
            gr = grp(p)
            s = stride if b == 0 else 1
            cout = width * 4
            y = conv(g, p + ".conv1", x, cin, width, 1, group=gr)
            y = batchnorm(g, p + ".bn1", y, width, group=gr)
            y = act(g, "relu", y, scope(p) + "/relu/Relu")
            y = conv(g, p + ".conv2", y, width, width, 3, stride=s, group=gr)
            y = batchnorm(g, p + ".bn2", y, width, group=gr)
            y = act(g, "relu", y, scope(p) + "/relu_1/Relu")
            y = conv(g, p + ".conv3", y, width, cout, 1, group=gr)
            y = batchnorm(g, p + ".bn3", y, cout, gamma=0.3, group=gr)
            if b == 0:
                idn = conv(g, p + ".downsample.0", x, cin, cout, 1, stride=s, group=gr)
                idn = batchnorm(g, p + ".downsample.1", idn, cout, group=gr)
            else:
                idn = x
            y = add(g, y, idn, scope(p) + "/Add")
            x = act(g, "relu", y, scope(p) + "/relu_2/Relu")
            cin = cout
    x = gap(g, x, "/avgpool/GlobalAveragePool")
    x = flatten(g, x, "/Flatten")
    x = linear_gemm(g, "fc", x, 2048, 1000, group=grp("fc"))
    rename_output(g, x, "output")
    return name, g.model("main_graph", ins, outs, "ResNet-50 (torchvision topology), random weights")


# ---------------------------------------------------------------- MobileNetV2
def build_mobilenetv2():
    """torchvision MobileNetV2 as exported in eval mode: BN folded into Conv, ReLU6 as Clip(0, 6)."""
    g = Graph("mobilenetv2")
    ins, outs = classifier_io(g, "input", "output", 1000, 8)
    clip_lo = g.init("onnx::Clip_min", np.array(0.0, np.float32))
    clip_hi = g.init("onnx::Clip_max", np.array(6.0, np.float32))

    def conv_bn(cpath, bnpath, x, cin, cout, k, stride=1, groups=1, gamma=1.0):
        """Conv + BatchNorm folded into one Conv with bias, like the exporter's constant folding."""
        w, _ = conv_params(g, cpath, x, cin, cout, k, groups)
        raw = np_conv(g.val[x], w, None, stride, k // 2, groups)
        gam, bet, rm, rv = bn_params(g, bnpath, raw, cout, gamma, None)
        s = gam / np.sqrt(rv + np.float32(1e-5))
        wf = (w * s[:, None, None, None]).astype(np.float32)
        bf = (bet - rm * s).astype(np.float32)
        return conv_node(g, cpath, x, wf, bf, k, stride, groups, val=bn_apply(raw, gam, bet, rm, rv, 1e-5))

    def cbr(path, x, cin, cout, k, stride=1, groups=1):
        y = conv_bn(path + ".0", path + ".1", x, cin, cout, k, stride, groups)
        return act(g, "relu6", y, scope(path + ".2") + "/Clip", inputs=[y, clip_lo, clip_hi])

    x = cbr("features.0", "input", 3, 32, 3, stride=2)
    cin = 32
    idx = 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            p = "features.%d.conv" % idx
            hidden = cin * t
            y = x
            j = 0
            if t != 1:
                y = cbr("%s.%d" % (p, j), y, cin, hidden, 1)
                j += 1
            y = cbr("%s.%d" % (p, j), y, hidden, hidden, 3, stride=stride, groups=hidden)
            j += 1
            res = stride == 1 and cin == c
            # Linear bottleneck: 1x1 projection (Conv + folded BN), no activation; the BN is
            # at index j+1 in torchvision's Sequential, the conv at j.
            y = conv_bn("%s.%d" % (p, j), "%s.%d" % (p, j + 1), y, hidden, c, 1, gamma=0.5 if res else 1.0)
            if res:
                y = add(g, x, y, scope("features.%d" % idx) + "/Add")
            x = y
            cin = c
            idx += 1
    x = cbr("features.18", x, 320, 1280, 1)
    x = gap(g, x, "/GlobalAveragePool")
    x = flatten(g, x, "/Flatten")
    x = linear_gemm(g, "classifier.1", x, 1280, 1000)
    rename_output(g, x, "output")
    return "mobilenetv2", g.model("main_graph", ins, outs, "MobileNetV2 (torchvision topology), random weights")


# ---------------------------------------------------------------- EfficientNet-B0
def build_efficientnet_b0():
    g = Graph("efficientnet_b0")
    ins, outs = classifier_io(g, "input", "output", 1000, 8)
    eps = 1e-3

    def cna(path, x, cin, cout, k, stride=1, groups=1, activation=True, gamma=1.0):
        y = conv(g, path + ".0", x, cin, cout, k, stride=stride, groups=groups)
        y = batchnorm(g, path + ".1", y, cout, eps=eps, gamma=gamma)
        return silu(g, scope(path + ".2"), y) if activation else y

    x = cna("features.0", "input", 3, 32, 3, stride=2)
    cin = 32
    stage = 1
    for e, k, s, c, n in [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            p = "features.%d.%d.block" % (stage, i)
            hidden = cin * e
            sq = max(1, cin // 4)
            j = 0
            y = x
            if e != 1:
                y = cna("%s.%d" % (p, j), y, cin, hidden, 1)
                j += 1
            y = cna("%s.%d" % (p, j), y, hidden, hidden, k, stride=stride, groups=hidden)
            j += 1
            # Squeeze-and-excitation: pool, reduce, SiLU, expand, Sigmoid, scale.
            se = "%s.%d" % (p, j)
            z = gap(g, y, scope(se) + "/avgpool/GlobalAveragePool")
            z = conv(g, se + ".fc1", z, hidden, sq, 1, bias=True)
            z = silu(g, scope(se + ".activation"), z)
            z = conv(g, se + ".fc2", z, sq, hidden, 1, bias=True)
            z = act(g, "sigmoid", z, scope(se) + "/scale_activation/Sigmoid")
            y = mul(g, z, y, scope(se) + "/Mul")
            j += 1
            res = stride == 1 and cin == c
            y = cna("%s.%d" % (p, j), y, hidden, c, 1, activation=False, gamma=0.5 if res else 1.0)
            if res:
                y = add(g, y, x, scope("features.%d.%d" % (stage, i)) + "/Add")
            x = y
            cin = c
        stage += 1
    x = cna("features.8", x, 320, 1280, 1)
    x = gap(g, x, "/avgpool/GlobalAveragePool")
    x = flatten(g, x, "/Flatten")
    x = linear_gemm(g, "classifier.1", x, 1280, 1000)
    rename_output(g, x, "output")
    return "efficientnet_b0", g.model("main_graph", ins, outs,
                                      "EfficientNet-B0 (torchvision topology), random weights")


# ---------------------------------------------------------------- VGG-16
def build_vgg16():
    g = Graph("vgg16")
    ins, outs = classifier_io(g, "input", "output", 1000, 1)
    x = "input"
    cin = 3
    i = 0
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            x = maxpool(g, x, scope("features.%d" % i) + "/MaxPool", 2, 2, 0)
        else:
            x = conv(g, "features.%d" % i, x, cin, v, 3, bias=True)
            i += 1
            x = act(g, "relu", x, scope("features.%d" % i) + "/Relu")
            cin = v
        i += 1
    x = flatten(g, x, "/Flatten")
    side = (IMAGE_SIZE or 224) // 32  # five 2x2 max pools
    x = linear_gemm(g, "classifier.0", x, 512 * side * side, 4096)
    x = act(g, "relu", x, "/classifier/classifier.1/Relu")
    x = linear_gemm(g, "classifier.3", x, 4096, 4096)
    x = act(g, "relu", x, "/classifier/classifier.4/Relu")
    x = linear_gemm(g, "classifier.6", x, 4096, 1000)
    rename_output(g, x, "output")
    return "vgg16", g.model("main_graph", ins, outs, "VGG-16 (torchvision topology), random weights")


# ---------------------------------------------------------------- BERT
def build_bert(name, layers, hidden=768, heads=12, ffn=3072, vocab=30522, max_pos=512):
    g = Graph(name if name != "bert_tiny" else "bert_base")  # tiny = the first layers of base
    head = hidden // heads

    def bscope(path):
        return scope(path, ("layer",))  # encoder.layer is an nn.ModuleList
    std = 0.02

    def ln(path, x):
        gam = g.init(path + ".weight", g.uniform(path + ".weight", (hidden,), 0.9, 1.1))
        bet = g.init(path + ".bias", g.normal(path + ".bias", (hidden,), 0.02))
        return g.node("LayerNormalization", [x, gam, bet], bscope(path) + "/LayerNormalization",
                      axis=-1, epsilon=1e-12)

    def dense(path, x, cin, cout, wstd):
        w = g.anon_init("MatMul", g.normal(path + ".weight", (cin, cout), wstd))
        y = g.node("MatMul", [x, w], bscope(path) + "/MatMul")
        b = g.init(path + ".bias", g.normal(path + ".bias", (cout,), 0.02))
        return g.node("Add", [b, y], bscope(path) + "/Add")

    def op(sc, op_type, inputs, **attrs):
        return g.node(op_type, inputs, g.uname(sc, op_type), **attrs)

    def const(sc, value, dtype):
        return g.const(g.uname(sc, "Constant"), value, dtype)

    def dim_of(sc, x, axis):
        """Shape -> Gather(axis) -> Unsqueeze: one dim of x as a 1-element int64 tensor."""
        shp = op(sc, "Shape", [x])
        d = op(sc, "Gather", [shp, const(sc, axis, np.int64)], axis=0)
        return op(sc, "Unsqueeze", [d, const(sc, [0], np.int64)])

    def split_heads(sc, x, perm):
        b = dim_of(sc, x, 0)
        s = dim_of(sc, x, 1)
        shape = op(sc, "Concat", [b, s, const(sc, [heads], np.int64), const(sc, [head], np.int64)], axis=0)
        return op(sc, "Transpose", [op(sc, "Reshape", [x, shape])], perm=perm)

    # Embeddings: word + position (sliced from the position_ids buffer) + token type.
    e = "embeddings"
    we = g.init(e + ".word_embeddings.weight", g.normal(e + ".word_embeddings.weight", (vocab, hidden), std))
    pe = g.init(e + ".position_embeddings.weight",
                g.normal(e + ".position_embeddings.weight", (max_pos, hidden), std))
    te = g.init(e + ".token_type_embeddings.weight",
                g.normal(e + ".token_type_embeddings.weight", (2, hidden), std))
    pos_ids = g.init(e + ".position_ids", np.arange(max_pos, dtype=np.int64).reshape(1, max_pos))
    es = bscope(e)
    words = g.node("Gather", [we, "input_ids"], es + "/word_embeddings/Gather")
    types = g.node("Gather", [te, "token_type_ids"], es + "/token_type_embeddings/Gather")
    x = op(es, "Add", [words, types])
    seq = dim_of(es, "input_ids", 1)
    pid = op(es, "Slice", [pos_ids, const(es, [0], np.int64), seq, const(es, [1], np.int64),
                           const(es, [1], np.int64)])
    pos = g.node("Gather", [pe, pid], es + "/position_embeddings/Gather")
    x = op(es, "Add", [x, pos])
    x = ln(e + ".LayerNorm", x)

    # Extended attention mask: (1 - mask[:, None, None, :]) * finfo(float32).min
    m = op("", "Unsqueeze", ["attention_mask", const("", [1], np.int64)])
    m = op("", "Unsqueeze", [m, const("", [2], np.int64)])
    m = op("", "Cast", [m], to=TensorProto.FLOAT)
    m = op("", "Sub", [const("", 1.0, np.float32), m])
    mask = op("", "Mul", [m, const("", np.finfo(np.float32).min, np.float32)])

    for li in range(layers):
        p = "encoder.layer.%d" % li
        a = p + ".attention.self"
        sc = bscope(a)
        q = split_heads(sc, dense(a + ".query", x, hidden, hidden, std), [0, 2, 1, 3])
        k = split_heads(sc, dense(a + ".key", x, hidden, hidden, std), [0, 2, 3, 1])
        v = split_heads(sc, dense(a + ".value", x, hidden, hidden, std), [0, 2, 1, 3])
        s = op(sc, "MatMul", [q, k])
        s = op(sc, "Div", [s, const(sc, float(np.sqrt(head)), np.float32)])
        s = op(sc, "Add", [s, mask])
        s = op(sc, "Softmax", [s], axis=-1)
        c = op(sc, "Transpose", [op(sc, "MatMul", [s, v])], perm=[0, 2, 1, 3])
        shape = op(sc, "Concat", [dim_of(sc, c, 0), dim_of(sc, c, 1), const(sc, [hidden], np.int64)], axis=0)
        c = op(sc, "Reshape", [c, shape])
        o = p + ".attention.output"
        y = dense(o + ".dense", c, hidden, hidden, std)
        y = g.node("Add", [y, x], bscope(o) + "/Add")
        x = ln(o + ".LayerNorm", y)
        it = p + ".intermediate"
        h = dense(it + ".dense", x, hidden, ffn, std)
        gs = bscope(it + ".intermediate_act_fn")
        t = op(gs, "Div", [h, const(gs, 1.4142135381698608, np.float32)])
        t = op(gs, "Erf", [t])
        t = op(gs, "Add", [t, const(gs, 1.0, np.float32)])
        t = op(gs, "Mul", [h, t])
        t = op(gs, "Mul", [t, const(gs, 0.5, np.float32)])
        o = p + ".output"
        y = dense(o + ".dense", t, ffn, hidden, std)
        y = g.node("Add", [y, x], bscope(o) + "/Add")
        x = ln(o + ".LayerNorm", y)
    rename_output(g, x, "last_hidden_state")

    # Pooler: first token -> Linear -> Tanh.
    ps = "/pooler"
    f = g.node("Gather", ["last_hidden_state", g.const(ps + "/Constant", 0, np.int64)], ps + "/Gather", axis=1)
    f = linear_gemm(g, "pooler.dense", f, hidden, hidden, std=std)
    g.node("Tanh", [f], ps + "/activation/Tanh", outputs=["pooler_output"])

    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
           for n in ("input_ids", "attention_mask", "token_type_ids")]
    outs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden]),
            helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch", hidden])]
    return name, g.model("main_graph", ins, outs,
                         "BERT-base encoder (HF topology), %d layers, random weights" % layers)


# ---------------------------------------------------------------- YOLO-tiny
def build_yolo_tiny(size=320, classes=80, anchors=3):
    """Small YOLO-style detector: strided conv backbone, an FPN-ish upsample+concat, two heads."""
    g = Graph("yolo_tiny")
    no = classes + 5
    lists = ("model",)  # the layer Sequential is iterated, not called: no '/model' scope

    def sc(path):
        return scope(path, lists)

    def cbl(path, x, cin, cout, k, stride=1):
        y = conv(g, path + ".conv", x, cin, cout, k, stride=stride, lists=lists)
        y = batchnorm(g, path + ".bn", y, cout, lists=lists)
        return act(g, "leaky", y, sc(path + ".act") + "/LeakyRelu", alpha=0.1)

    ins = [image_input(g, "images", 3, size, size, 2)]
    x = cbl("model.0", "images", 3, 16, 3)
    x = cbl("model.1", x, 16, 32, 3, stride=2)
    x = cbl("model.2", x, 32, 64, 3, stride=2)
    x = maxpool(g, x, "/model.3/MaxPool", 2, 2, 0)
    x = cbl("model.4", x, 64, 128, 3)
    route = cbl("model.5", x, 128, 256, 3, stride=2)      # stride 16
    x = cbl("model.6", route, 256, 512, 3, stride=2)      # stride 32
    p5 = cbl("model.7", x, 512, 256, 1)

    def detect(path, x, cin, grid, idiom):
        y = conv(g, path, x, cin, anchors * no, 1, bias=True, lists=lists)
        y = act(g, "sigmoid", y, sc(path) + "/Sigmoid")
        if idiom:
            # Exporter idiom: batch from Shape -> Gather -> Unsqueeze, the rest constant.
            shp = g.node("Shape", [y], sc(path) + "/Shape")
            b = g.node("Gather", [shp, g.const(sc(path) + "/Constant", 0, np.int64)], sc(path) + "/Gather",
                       axis=0)
            b = g.node("Unsqueeze", [b, g.const(sc(path) + "/Constant_1", [0], np.int64)],
                       sc(path) + "/Unsqueeze")
            rest = g.const(sc(path) + "/Constant_2", [anchors, no, grid * grid], np.int64)
            shape = g.node("Concat", [b, rest], sc(path) + "/Concat", axis=0)
        else:
            # 0 copies the batch dim, -1 infers grid*grid.
            shape = g.init(path + ".view_shape", np.array([0, anchors, no, -1], np.int64))
        y = g.node("Reshape", [y, shape], sc(path) + "/Reshape")
        y = g.node("Transpose", [y], sc(path) + "/Transpose", perm=[0, 1, 3, 2])
        flat = g.init(path + ".out_shape", np.array([0, -1, no], np.int64))
        return g.node("Reshape", [y, flat], sc(path) + "/Reshape_1")

    h1 = cbl("model.8", p5, 256, 512, 3)
    d1 = detect("model.9", h1, 512, size // 32, True)
    x = cbl("model.10", p5, 256, 128, 1)
    scales = g.init("model.11.scales", np.array([1.0, 1.0, 2.0, 2.0], np.float32))
    x = g.node("Resize", [x, "", scales], "/model.11/Resize", val=g.val[x].repeat(2, axis=2).repeat(2, axis=3),
               coordinate_transformation_mode="asymmetric", cubic_coeff_a=-0.75, mode="nearest",
               nearest_mode="floor")
    x = g.node("Concat", [x, route], "/model.12/Concat", val=np.concatenate([g.val[x], g.val[route]], axis=1),
               axis=1)
    h2 = cbl("model.13", x, 128 + 256, 256, 3)
    d2 = detect("model.14", h2, 256, size // 16, False)
    g.node("Concat", [d1, d2], "/model.15/Concat", axis=1, outputs=["detections"])
    n_det = anchors * ((size // 32) ** 2 + (size // 16) ** 2)
    outs = [helper.make_tensor_value_info("detections", TensorProto.FLOAT, ["batch", n_det, no])]
    return "yolo_tiny", g.model("main_graph", ins, outs, "Small YOLO-style detector, random weights")


# ---------------------------------------------------------------- driver
ALL = ["resnet50", "mobilenetv2", "efficientnet_b0", "vgg16", "bert_base", "bert_tiny", "yolo_tiny",
       "speech_rnn"]


def builders(layers):
    return {
        "resnet50": lambda: build_resnet50(),
        "mobilenetv2": build_mobilenetv2,
        "efficientnet_b0": build_efficientnet_b0,
        "vgg16": build_vgg16,
        "bert_base": lambda: build_bert("bert_base", layers if layers else 12),
        "bert_tiny": lambda: build_bert("bert_tiny", layers if layers else 2),
        "yolo_tiny": lambda: build_yolo_tiny(IMAGE_SIZE or 320),
        "speech_rnn": lambda: speech_model.build_speech_rnn(Graph),
    }


def write(model, path, check):
    if check:
        onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--only", default="", help="comma-separated model names (default: all): " + ",".join(ALL))
    ap.add_argument("--layers", type=int, default=0,
                    help="encoder layer count for the BERT models written (default 12 base / 2 tiny)")
    ap.add_argument("--variant", default="",
                    help="comma-separated ResNet-50 variants K: writes resnet50_vK.onnx (same shapes; v0 "
                         "is byte-identical to resnet50.onnx; all share stem..layer2, variants "
                         "2j/2j+1 share layer3, layer4+fc differ); alone, writes only the variants")
    ap.add_argument("--no-check", action="store_true", help="skip onnx.checker (faster)")
    ap.add_argument("--image-size", type=int, default=0,
                    help="side of the CNN image inputs, a multiple of 32 (default: 224, the "
                         "detector 320); other weights than the usual size, same topology")
    args = ap.parse_args(argv)
    if args.image_size and (args.image_size < 32 or args.image_size % 32):
        ap.error("--image-size must be a positive multiple of 32")
    global IMAGE_SIZE
    IMAGE_SIZE = args.image_size or None

    only = [n for n in args.only.split(",") if n]
    variants = [int(v) for v in args.variant.split(",") if v]
    if not only and not variants:
        only = ALL
    bad = [n for n in only if n not in ALL]
    if bad:
        ap.error("unknown model(s): %s (known: %s)" % (",".join(bad), ",".join(ALL)))
    if any(v < 0 for v in variants):
        ap.error("--variant must be >= 0")
    os.makedirs(args.out, exist_ok=True)
    jobs = [(n, builders(args.layers)[n]) for n in only]
    jobs += [("resnet50_v%d" % v, (lambda v=v: build_resnet50(v))) for v in variants]
    for label, fn in jobs:
        t0 = time.perf_counter()
        name, model = fn()
        path = os.path.join(args.out, name + ".onnx")
        size = write(model, path, not args.no_check)
        dt = time.perf_counter() - t0
        print("%-18s %5d nodes %4d initializers %9.1f MiB %6.2f s  %s" % (
            name, len(model.graph.node), len(model.graph.initializer), size / 2**20, dt, path))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
