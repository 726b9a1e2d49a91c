"""The PyTorch side of the benchmark (../shared/bench.md): tenants built from torchvision and
transformers configurations with random weights (nothing downloaded), their ONNX exports, and
the baselines B0-B4 timed on the GPU. Imported by bench_gpu.py only when torch imports; every
function raises on failure and the caller records the reason, so one broken baseline never
stops the run.

Precision: FP32 everywhere, TF32 off for matmuls and cuDNN (set by setup()).
"""
import os
import time

import numpy as np
import torch

from calibrate import stats

BERT_SEQ = 128
# Where the modules run: "cuda" on the GPU machine; "cpu" checks the PyTorch path of the
# benchmark without a GPU (bench_gpu.py --torch-device cpu: exports, output checks and B0 only).
DEVICE = "cuda"


def _cuda():
    return DEVICE != "cpu"


class _WallEvent:
    """torch.cuda.Event's record/elapsed_time/synchronize on the host clock, for DEVICE cpu."""

    def record(self, stream=None):
        self.t = time.perf_counter()

    def synchronize(self):
        pass

    def elapsed_time(self, end):
        return (end.t - self.t) * 1e3


def setup():
    """FP32 with TF32 off, as the protocol states; returns the version and precision lines."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    info = {"torch": torch.__version__, "cuda_runtime": torch.version.cuda,
            "cudnn": str(torch.backends.cudnn.version()),
            "precision": "FP32; torch.backends.cuda.matmul.allow_tf32=False, "
                         "torch.backends.cudnn.allow_tf32=False"}
    try:
        import torchvision
        info["torchvision"] = torchvision.__version__
    except ImportError as e:
        info["torchvision"] = f"missing ({e})"
    try:
        import transformers
        info["transformers"] = transformers.__version__
    except ImportError as e:
        info["transformers"] = f"missing ({e})"
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info["gpu"] = p.name
        info["sm_count"] = p.multi_processor_count
        info["gpu_memory_bytes"] = p.total_memory
    return info


class TinyDetector(torch.nn.Module):
    """The small YOLO-style detector of tests/models/gen_models.py (yolo_tiny) as a module."""

    def __init__(self, classes=80, anchors=3):
        super().__init__()
        nn = torch.nn
        self.no, self.anchors = classes + 5, anchors

        def cbl(cin, cout, k, stride=1):
            return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                                 nn.BatchNorm2d(cout), nn.LeakyReLU(0.1))
        self.backbone = nn.Sequential(cbl(3, 16, 3), cbl(16, 32, 3, 2), cbl(32, 64, 3, 2),
                                      nn.MaxPool2d(2, 2), cbl(64, 128, 3))
        self.route = cbl(128, 256, 3, 2)
        self.down = nn.Sequential(cbl(256, 512, 3, 2), cbl(512, 256, 1))
        self.head1 = nn.Sequential(cbl(256, 512, 3), nn.Conv2d(512, anchors * self.no, 1))
        self.lateral = cbl(256, 128, 1)
        self.head2 = nn.Sequential(cbl(384, 256, 3), nn.Conv2d(256, anchors * self.no, 1))

    def _flat(self, y):
        b, _, h, w = y.shape
        y = torch.sigmoid(y).reshape(b, self.anchors, self.no, h * w).transpose(2, 3)
        return y.reshape(b, -1, self.no)

    def forward(self, images):
        route = self.route(self.backbone(images))
        p5 = self.down(route)
        d1 = self._flat(self.head1(p5))
        x = torch.nn.functional.interpolate(self.lateral(p5), scale_factor=2.0, mode="nearest")
        d2 = self._flat(self.head2(torch.cat([x, route], 1)))
        return torch.cat([d1, d2], 1)


class BertTuple(torch.nn.Module):
    """BertModel (BERT-base configuration) returning the tuple (last_hidden_state,
    pooler_output) whatever the transformers version's output type, with positional inputs in
    the order the export names them."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        o = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                      token_type_ids=token_type_ids)
        return o[0], o[1]


def build(model, seed, device=None):
    """(module in eval mode on device, input names, output names, dynamic axes) for one of the
    project's model names; weights from torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    if model.startswith("resnet50"):
        import torchvision
        m = torchvision.models.resnet50(weights=None)
    elif model == "mobilenetv2":
        import torchvision
        m = torchvision.models.mobilenet_v2(weights=None)
    elif model == "efficientnet_b0":
        import torchvision
        m = torchvision.models.efficientnet_b0(weights=None)
    elif model == "vgg16":
        import torchvision
        m = torchvision.models.vgg16(weights=None)
    elif model == "yolo_tiny":
        m = TinyDetector()
    elif model.startswith("bert"):
        import transformers
        try:  # plain MatMul/Softmax attention in the export, not a fused SDPA op
            cfg = transformers.BertConfig(attn_implementation="eager")
        except TypeError:
            cfg = transformers.BertConfig()
        m = BertTuple(transformers.BertModel(cfg, add_pooling_layer=True))
    else:
        raise ValueError(f"no PyTorch builder for {model}")
    m = m.eval().to(device or DEVICE)
    if model.startswith("bert"):
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "seq"} for n in names}
        outs = ["last_hidden_state", "pooler_output"]
        axes.update({"last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}})
    else:
        names = ["images" if model == "yolo_tiny" else "input"]
        outs = ["detections" if model == "yolo_tiny" else "output"]
        axes = {names[0]: {0: "batch"}, outs[0]: {0: "batch"}}
    return m, names, outs, axes


def inputs_for(model, batch, seed):
    """Inputs as numpy arrays by name (what mtcc run and the modules both get)."""
    rng = np.random.default_rng(seed)
    if model.startswith("bert"):
        ids = rng.integers(0, 30522, size=(batch, BERT_SEQ), dtype=np.int64)
        mask = np.ones((batch, BERT_SEQ), np.int64)
        types = np.zeros((batch, BERT_SEQ), np.int64)
        types[:, BERT_SEQ // 2:] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    side = 320 if model == "yolo_tiny" else 224
    name = "images" if model == "yolo_tiny" else "input"
    return {name: rng.standard_normal((batch, 3, side, side), dtype=np.float32)}


def to_torch(inputs, names, device=None):
    return tuple(torch.from_numpy(inputs[n]).to(device or DEVICE) for n in names)


def outputs_numpy(out):
    if isinstance(out, (tuple, list)):
        return [o.detach().float().cpu().numpy() for o in out]
    return [out.detach().float().cpu().numpy()]


def export(module, names, outs, axes, example, path):
    """ONNX export with a symbolic batch (and seq): the TorchScript exporter first (opset 17, the
    idioms mtcc's generators mirror), the dynamo exporter when that one is gone. example: inputs
    at batch 2. Returns which exporter wrote the file."""
    tmp = path + ".tmp.onnx"
    errors = []
    with torch.inference_mode(False), torch.no_grad():
        try:
            torch.onnx.export(module, example, tmp, input_names=names, output_names=outs,
                              dynamic_axes=axes, opset_version=17, dynamo=False)
            os.replace(tmp, path)
            return "torch.onnx.export (TorchScript, opset 17)"
        except Exception as e:  # noqa: BLE001 - try the other exporter, keep the reason
            errors.append(f"TorchScript exporter: {type(e).__name__}: {str(e)[:300]}")
        try:
            # one Dim object per name (batch is the same dim in every input); the example batch
            # is 2, as torch.export specializes a dim it sees as 1
            dim = {"batch": torch.export.Dim("batch", min=1, max=4096),
                   "seq": torch.export.Dim("seq", min=2, max=512)}
            dims = tuple({k: dim[v] for k, v in axes[n].items()} for n in names)
            prog = torch.onnx.export(module, example, dynamo=True, input_names=names,
                                     output_names=outs, dynamic_shapes=dims)
            prog.save(tmp, external_data=False)
            _rename_dims(tmp, names, axes)
            os.replace(tmp, path)
            return "torch.onnx.export (dynamo)"
        except Exception as e:  # noqa: BLE001
            errors.append(f"dynamo exporter: {type(e).__name__}: {str(e)[:300]}")
    raise RuntimeError("; ".join(errors))


def _rename_dims(path, names, axes):
    """The dynamo exporter names symbolic dims itself (s0, s1, ...): rename them to the
    manifest's names (batch, seq) everywhere in the graph's types."""
    import onnx
    m = onnx.load(path)
    ren = {}
    for i in m.graph.input:
        if i.name in axes:
            for k, v in axes[i.name].items():
                d = i.type.tensor_type.shape.dim[k]
                if d.dim_param:
                    ren[d.dim_param] = v
    for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param in ren:
                d.dim_param = ren[d.dim_param]
    onnx.save(m, path)


# ------------------------------------------------------------------ timing
def _time_rounds(round_fn, rounds, warmup, deadline):
    """Runs round_fn rounds times after warmup; CUDA events for the makespan (and per tenant
    from the event pairs round_fn returns), wall clock beside them. Stops at deadline (epoch
    seconds); the result says how many rounds ran."""
    for _ in range(warmup):
        round_fn()
        if time.time() > deadline:
            break
    if _cuda():
        torch.cuda.synchronize()
    start, end = _events()
    spans, walls, tenant_us = [], [], []
    t_all = time.monotonic()
    for _ in range(rounds):
        w0 = time.perf_counter()
        start.record()
        evs = round_fn()
        end.record()
        end.synchronize()
        walls.append((time.perf_counter() - w0) * 1e6)
        spans.append(start.elapsed_time(end) * 1e3)
        if evs:
            tenant_us.append([a.elapsed_time(b) * 1e3 for a, b in evs])
        if time.time() > deadline:
            break
    wall = time.monotonic() - t_all
    out = {"rounds": len(spans), "warmup": warmup, "makespan_us": stats(spans),
           "wall_us": stats(walls), "throughput_rounds_per_s": len(spans) / wall if wall else 0}
    if tenant_us:
        out["tenant_us"] = [stats([r[i] for r in tenant_us]) for i in range(len(tenant_us[0]))]
    return out


def _sequential(calls):
    """A round running calls one after another on the current stream, each between two events
    (the per-tenant times)."""
    def rnd():
        evs = []
        for call in calls:
            e = _events()
            e[0].record()
            call()
            e[1].record()
            evs.append(e)
        return evs
    return rnd


def _events():
    if not _cuda():
        return _WallEvent(), _WallEvent()
    return torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)


def _capture(module, args):
    """One CUDA graph of module(*args) with static inputs (warm-up on a side stream first)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            module(*args)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = module(*args)
    return g, out


def green_streams(budgets):
    """One stream per budget on disjoint green contexts: torch.cuda.green_contexts where it
    gives a stream, else the driver's cuGreenCtx* API through ctypes (the SM set is split off
    what the previous budgets left). Returns (streams, SMs granted, how)."""
    gcmod = getattr(torch.cuda, "green_contexts", None)
    if gcmod is not None and hasattr(getattr(gcmod, "GreenContext", None), "Stream"):
        ctxs = [gcmod.GreenContext.create(num_sms=n, device_id=0) for n in budgets]
        _keep.extend(ctxs)
        return [c.Stream() for c in ctxs], list(budgets), "torch.cuda.green_contexts"
    import ctypes
    from ctypes import byref, c_int, c_uint, c_ubyte, c_void_p
    cu = ctypes.CDLL("libcuda.so.1")
    for fn in ("cuDeviceGetDevResource", "cuDevSmResourceSplitByCount", "cuDevResourceGenerateDesc",
               "cuGreenCtxCreate", "cuGreenCtxStreamCreate"):
        if not hasattr(cu, fn):
            raise RuntimeError(f"the driver has no {fn} (green contexts need CUDA 12.4+)")

    class SmResource(ctypes.Structure):
        _fields_ = [("smCount", c_uint), ("minSmPartitionSize", c_uint),
                    ("smCoscheduledAlignment", c_uint)]

    class DevResource(ctypes.Structure):  # CUdevResource of cuda.h (resource ABI 1: 144 bytes)
        _fields_ = [("type", c_int), ("_internal_padding", c_ubyte * 92), ("sm", SmResource),
                    ("_oversize", c_ubyte * (48 - ctypes.sizeof(SmResource)))]

    def check(rc, what):
        if rc != 0:
            raise RuntimeError(f"{what} failed: CUresult {rc}")

    torch.cuda.current_stream().synchronize()  # the primary context exists and is current
    dev = c_int()
    check(cu.cuDeviceGet(byref(dev), 0), "cuDeviceGet")
    rest = DevResource()
    check(cu.cuDeviceGetDevResource(dev, byref(rest), 1), "cuDeviceGetDevResource(SM)")
    streams, granted = [], []
    for n in budgets:
        group, remaining, nb = DevResource(), DevResource(), c_uint(1)
        check(cu.cuDevSmResourceSplitByCount(byref(group), byref(nb), byref(rest), byref(remaining),
                                             0, n), f"cuDevSmResourceSplitByCount({n})")
        desc, gctx, stream = c_void_p(), c_void_p(), c_void_p()
        check(cu.cuDevResourceGenerateDesc(byref(desc), byref(group), 1), "cuDevResourceGenerateDesc")
        check(cu.cuGreenCtxCreate(byref(gctx), desc, dev, 1), "cuGreenCtxCreate")
        check(cu.cuGreenCtxStreamCreate(byref(stream), gctx, 1, 0), "cuGreenCtxStreamCreate")
        _keep.append(gctx)
        streams.append(torch.cuda.ExternalStream(stream.value))
        granted.append(group.sm.smCount)
        rest = remaining
    return streams, granted, "cuGreenCtx* through ctypes"


_keep = []  # green contexts live as long as the process: their streams are used until the end


def run_baselines(tenants, rounds, warmup, deadline, budgets=None, which="B0,B1,B2,B3,B4",
                  log=print, seconds_each=15.0):
    """tenants: [(name, module, args)] on the GPU. Returns {baseline: result or {"skipped": why}}.
    budgets: SM count per tenant (the SM-budget run) for B4; None skips B4. Each baseline's timed
    rounds stop after seconds_each (or at deadline), saying how many ran."""
    res = {}
    which = which.split(",")
    stop = [deadline]  # the running baseline's own end
    if not _cuda():
        for k in ("B1", "B2", "B3", "B4"):
            if k in which:
                res[k] = {"skipped": f"PyTorch on the {DEVICE}: {k} needs CUDA"}
        which = [k for k in which if k == "B0"]
    else:
        torch.cuda.synchronize()

    def guarded(key, fn):
        if key not in which:
            return
        if time.time() > deadline:
            res[key] = {"skipped": "time budget spent"}
            return
        if _cuda():
            torch.cuda.reset_peak_memory_stats()
        t0 = time.monotonic()
        stop[0] = min(deadline, time.time() + seconds_each)
        try:
            r = fn()
            if _cuda():
                r["peak_device_bytes"] = torch.cuda.max_memory_allocated()
            r["seconds"] = time.monotonic() - t0
            res[key] = r
            log(f"    {key}: makespan median {r['makespan_us'].get('median', 0):.1f} us")
        except Exception as e:  # noqa: BLE001 - a baseline that fails is a reported row
            res[key] = {"skipped": f"{type(e).__name__}: {str(e)[:400]}"}
            log(f"    {key}: failed: {res[key]['skipped']}")
        if _cuda():
            torch.cuda.synchronize()

    with torch.inference_mode():
        def b0():
            calls = [lambda m=m, a=a: m(*a) for _, m, a in tenants]
            return _time_rounds(_sequential(calls), rounds, warmup, stop[0])
        guarded("B0", b0)

    graphs = []
    if any(k in which for k in ("B1", "B2", "B4")):
        try:
            with torch.inference_mode():
                graphs = [_capture(m, a)[0] for _, m, a in tenants]
        except Exception as e:  # noqa: BLE001
            for k in ("B1", "B2", "B4"):
                res[k] = {"skipped": f"graph capture failed: {type(e).__name__}: {str(e)[:300]}"}
            graphs = []

    if graphs:
        def b1():
            return _time_rounds(_sequential([g.replay for g in graphs]), rounds, warmup, stop[0])
        guarded("B1", b1)

        def forked(streams):
            main = torch.cuda.current_stream()

            def rnd():
                fork = torch.cuda.Event()
                fork.record(main)
                evs = []
                for g, s in zip(graphs, streams):
                    s.wait_event(fork)
                    e = _events()
                    with torch.cuda.stream(s):
                        e[0].record(s)
                        g.replay()
                        e[1].record(s)
                    main.wait_event(e[1])
                    evs.append(e)
                return evs
            return rnd

        def b2():
            streams = [torch.cuda.Stream() for _ in graphs]
            return _time_rounds(forked(streams), rounds, warmup, stop[0])
        guarded("B2", b2)

        def b4():
            if not budgets:
                raise RuntimeError("not an SM-budget run")
            streams, actual, how = green_streams(budgets)
            r = _time_rounds(forked(streams), rounds, warmup, stop[0])
            r.update(sm_budgets=list(budgets), sm_granted=actual,
                     note=f"B1's graphs replayed on green-context streams ({how}); SMs granted "
                          f"{actual} for budgets {list(budgets)}")
            return r
        guarded("B4", b4)

    if "B3" in which:
        def b3():
            if deadline - time.time() < 60:
                raise RuntimeError("under 60 s of this configuration's time left: "
                                   "torch.compile of every tenant takes longer")
            compiled, t0 = [], time.monotonic()
            for _, m, a in tenants:
                cm = torch.compile(m, mode="reduce-overhead")
                with torch.inference_mode():
                    for _ in range(3):
                        cm(*a)
                compiled.append((cm, a))
                if time.time() > deadline:
                    raise RuntimeError("time budget spent while compiling")
            compile_s = time.monotonic() - t0
            stop[0] = min(deadline, time.time() + seconds_each)  # compiling is not timing

            calls = [lambda cm=cm, a=a: cm(*a) for cm, a in compiled]
            with torch.inference_mode():
                r = _time_rounds(_sequential(calls), rounds, warmup, stop[0])
            r["compile_seconds"] = compile_s
            return r
        guarded("B3", b3)
    return res
