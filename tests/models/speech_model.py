"""The speech sample model for gen_models.py: a DeepSpeech-style acoustic model.

No torch in the venv, so it is built with onnx.helper in the shapes and node names PyTorch's
exporter gives such a network: a conv front end over a log-mel spectrogram (two Conv+Relu, the
second strided in frequency only), the channels and mel bins flattened into features per frame
(Transpose + Reshape with 0 copying the time and batch dims), a bidirectional LSTM, its two
directions concatenated (Transpose + Reshape), a forward GRU with linear_before_reset=1 (as
torch exports nn.GRU), Squeeze of the direction axis, a linear layer over the characters
(MatMul + Add) and LogSoftmax, batch-major at the end. Weights follow PyTorch's initialisation
(uniform +-1/sqrt(hidden) for the recurrent layers, He-normal convs), seeded per tensor by
gen_models.Graph, so the file is byte-identical from run to run.

Input `spectrogram` [batch, 1, 40, 48] -> `log_probs` [batch, 48, 29].
"""
import numpy as np
from onnx import TensorProto, helper

MELS, FRAMES, CHARS = 40, 48, 29
HIDDEN = 64


def build_speech_rnn(Graph):
    g = Graph("speech_rnn")

    def conv(path, x, cin, cout, stride):
        w = g.init(path + ".weight",
                   g.normal(path + ".weight", (cout, cin, 3, 3), float(np.sqrt(2.0 / (cin * 9)))))
        b = g.init(path + ".bias", g.uniform(path + ".bias", (cout,), -0.1, 0.1))
        y = g.node("Conv", [x, w, b], "/%s/Conv" % path, dilations=[1, 1], group=1,
                   kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=list(stride))
        return g.node("Relu", [y], "/%s/Relu" % path)

    def recurrent(path, op, x, cin, dirs, gates, **attrs):
        k = float(1.0 / np.sqrt(HIDDEN))
        w = g.anon_init(op, g.uniform(path + ".weight_ih", (dirs, gates * HIDDEN, cin), -k, k))
        r = g.anon_init(op, g.uniform(path + ".weight_hh", (dirs, gates * HIDDEN, HIDDEN), -k, k))
        b = g.anon_init(op, g.uniform(path + ".bias", (dirs, 2 * gates * HIDDEN), -k, k))
        outs = ["/%s/%s_output_%d" % (path, op, i) for i in range(3 if op == "LSTM" else 2)]
        g.node(op, [x, w, r, b], "/%s/%s" % (path, op), outputs=outs, hidden_size=HIDDEN,
               direction="bidirectional" if dirs == 2 else "forward", **attrs)
        return outs[0]

    x = conv("conv.0", "spectrogram", 1, 8, (2, 1))  # [b, 8, 20, T]
    x = conv("conv.2", x, 8, 16, (2, 1))  # [b, 16, 10, T]
    x = g.node("Transpose", [x], "/Transpose", perm=[3, 0, 1, 2])  # [T, b, 16, 10]
    feat = 16 * (MELS // 4)
    x = g.node("Reshape", [x, g.const("/Constant", [0, 0, feat], np.int64)], "/Reshape")
    y = recurrent("lstm", "LSTM", x, feat, 2, 4)  # [T, 2, b, H]
    y = g.node("Transpose", [y], "/Transpose_1", perm=[0, 2, 1, 3])
    y = g.node("Reshape", [y, g.const("/Constant_1", [0, 0, 2 * HIDDEN], np.int64)], "/Reshape_1")
    y = recurrent("gru", "GRU", y, 2 * HIDDEN, 1, 3, linear_before_reset=1)  # [T, 1, b, H]
    y = g.node("Squeeze", [y, g.const("/Constant_2", [1], np.int64)], "/Squeeze")
    k = float(1.0 / np.sqrt(HIDDEN))
    w = g.anon_init("MatMul", g.uniform("fc.weight", (HIDDEN, CHARS), -k, k))
    y = g.node("MatMul", [y, w], "/fc/MatMul")
    y = g.node("Add", [g.init("fc.bias", g.uniform("fc.bias", (CHARS,), -k, k)), y], "/fc/Add")
    y = g.node("Transpose", [y], "/Transpose_2", perm=[1, 0, 2])
    g.node("LogSoftmax", [y], "/LogSoftmax", axis=-1, outputs=["log_probs"])
    ins = [helper.make_tensor_value_info("spectrogram", TensorProto.FLOAT,
                                         ["batch", 1, MELS, FRAMES])]
    outs = [helper.make_tensor_value_info("log_probs", TensorProto.FLOAT,
                                          ["batch", FRAMES, CHARS])]
    return "speech_rnn", g.model("main_graph", ins, outs,
                                 "Conv front end, bidirectional LSTM, GRU, linear: random weights")
