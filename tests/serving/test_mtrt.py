"""python/mtrt against libmtrt: metadata, outputs equal to `mtcc run`, clear errors for bad
inputs, the ABI check, library lookup and the GIL released while a run executes."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import mtrt
import serving_util as su


@pytest.fixture(scope="module")
def tiny(mtcc, work):
    return su.tiny_bundle(mtcc, os.path.join(work, "tiny"), heavy=True)


@pytest.fixture
def bundle(tiny):
    with mtrt.Bundle(tiny) as b:
        yield b


def test_metadata(bundle):
    assert [t.name for t in bundle.tenants] == ["mlp", "ids", "heavy"]
    assert mtrt.abi_version() == mtrt._capi.ABI_VERSION == 3
    x = bundle.tenant("mlp").input("x")
    assert (x.dtype, x.shape, x.nbytes) == (np.dtype(np.float32), (2, 16), 128)
    ids = bundle.tenant("ids")
    assert [(p.name, p.dtype, p.shape) for p in ids.inputs] == [
        ("ids", np.dtype(np.int64), (1, 8)), ("mask", np.dtype(np.int64), (1, 8))]
    assert [(p.name, p.dtype) for p in ids.outputs] == [("z", np.int64), ("p", np.float32)]
    assert bundle.mtcc_version


def test_outputs_equal_mtcc_run(bundle, mtcc, work):
    feeds = su.random_inputs(bundle, seed=3)
    expected = su.mtcc_run(mtcc, bundle.path, feeds, os.path.join(work, "run_all"))
    with bundle.session(device="auto") as s:
        got = s.run(feeds)
        assert s.device == "cpu"
        assert set(s.timings_us) == {"mlp", "ids", "heavy"}
        assert all(v > 0 for v in s.timings_us.values())
        # a lone tenant runs alone, with the same result
        lone = s.run({"ids": feeds["ids"]})
        assert set(s.timings_us) == {"ids"}
    for t in expected:
        for name, want in expected[t].items():
            assert got[t][name].dtype == want.dtype and np.array_equal(got[t][name], want), (t, name)
    for name, want in expected["ids"].items():
        assert np.array_equal(lone["ids"][name], want)
    # worker threads (groups of different tenants at once) give the same bytes
    with bundle.session(device="cpu", threads=3) as s:
        threaded = s.run(feeds)
    for t in expected:
        for name, want in expected[t].items():
            assert np.array_equal(threaded[t][name], want), (t, name)


def _raises(session, feeds, cls, *words):
    with pytest.raises(cls) as e:
        session.run(feeds)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert isinstance(e.value, mtrt.Error)
    return e.value


def test_bad_inputs_raise_clear_errors(bundle):
    feeds = su.random_inputs(bundle)
    with bundle.session(device="cpu") as s:
        bad = {"mlp": {"x": feeds["mlp"]["x"].astype(np.float64)}}
        e = _raises(s, bad, mtrt.InvalidArgumentError, "tenant 'mlp'", "input 'x'", "float32[2, 16]",
                    "float64[2, 16]")
        assert e.code == 1 and isinstance(e, ValueError)
        _raises(s, {"mlp": {"x": feeds["mlp"]["x"][:1]}}, mtrt.InvalidArgumentError, "float32[1, 16]")
        _raises(s, {"nope": {}}, mtrt.InvalidArgumentError, "no tenant 'nope'", "'mlp'")
        _raises(s, {"mlp": {"x": feeds["mlp"]["x"], "q": feeds["mlp"]["x"]}}, mtrt.InvalidArgumentError,
                "tenant 'mlp' has no input 'q'", "'x'")
        _raises(s, {"ids": {"ids": feeds["ids"]["ids"]}}, mtrt.InvalidArgumentError, "missing input(s) mask")
        _raises(s, {"mlp": {"x": [1.0] * 32}}, mtrt.InvalidArgumentError, "numpy.ndarray")
        _raises(s, {}, mtrt.InvalidArgumentError, "non-empty dict")
        # the session still works after every refusal
        assert s.run({"mlp": feeds["mlp"]})["mlp"]["y"].shape == (2, 8)
    with pytest.raises(mtrt.InvalidArgumentError, match="closed"):
        s.run({"mlp": feeds["mlp"]})


def test_open_and_session_errors(bundle, work):
    with pytest.raises(mtrt.NotFoundError) as e:
        mtrt.Bundle(os.path.join(work, "missing.mtbundle"))
    assert "missing.mtbundle" in str(e.value)
    data = bytearray(open(bundle.path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    corrupt = os.path.join(work, "corrupt.mtbundle")
    with open(corrupt, "wb") as f:
        f.write(data)
    with pytest.raises(mtrt.DataLossError):
        mtrt.Bundle(corrupt)
    with pytest.raises(mtrt.UnavailableError, match="gpu"):
        bundle.session(device="gpu")
    with pytest.raises(mtrt.InvalidArgumentError, match="threads"):
        bundle.session(threads=0)
    with pytest.raises(mtrt.InvalidArgumentError, match="device"):
        bundle.session(device="tpu")


def _seen_inside_run(session, feeds, rounds=5):
    """Runs session.run(feeds) in a worker thread `rounds` times while this thread samples where
    the worker stands each time it gets the GIL; True when some sample found the worker inside
    the mtrt_session_run call. The switch interval is set far above any run, so the worker never
    loses the GIL to preemption: this thread can only run while the worker is blocked or inside a
    foreign call that released the GIL. No clock is involved: a machine of any speed or load
    gives the same answer (a run shorter than the sampling wait could hide, hence several)."""
    import linecache
    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        for _ in range(rounds):
            th = threading.Thread(target=session.run, args=(feeds,))
            th.start()
            seen = False
            while th.is_alive() and not seen:
                f = sys._current_frames().get(th.ident)
                seen = f is not None and "mtrt_session_run(" in linecache.getline(
                    f.f_code.co_filename, f.f_lineno)
                th.join(0.001)
            th.join()
            if seen:
                return True
        return False
    finally:
        sys.setswitchinterval(old)


def test_gil_released_during_run(bundle):
    """While libmtrt runs a tenant in one thread, the main thread keeps executing Python:
    ctypes.CDLL drops the GIL around the call. The peer, the same session calling through
    ctypes.PyDLL (which holds the GIL), must not show it: the check can fail."""
    import ctypes
    feeds = {"heavy": su.random_inputs(bundle)["heavy"]}
    s = bundle.session()
    assert _seen_inside_run(s, feeds), "the main thread never ran while mtrt_session_run did"
    held = ctypes.PyDLL(mtrt.library_path())
    for name, (res, args) in mtrt._capi._SIGNATURES.items():
        fn = getattr(held, name)
        fn.restype, fn.argtypes = res, args
    s._lib = held
    assert not _seen_inside_run(s, feeds, rounds=2), "the GIL-holding peer let the main thread run"
    s.close()


def _python(code, **env):
    e = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,
                          cwd=os.path.join(os.path.dirname(__file__), "..", "..", "python", "mtrt"))


def test_abi_and_library_lookup():
    r = _python("import mtrt; from mtrt import _capi; _capi.ABI_VERSION = 99; mtrt.abi_version()")
    assert r.returncode != 0 and "UnimplementedError" in r.stderr, r.stderr
    assert "this package speaks ABI 99" in r.stderr, r.stderr
    r = _python("import mtrt; mtrt.abi_version()", MTRT_LIBRARY="/nonexistent/libmtrt.so")
    assert r.returncode != 0 and "MTRT_LIBRARY (/nonexistent/libmtrt.so)" in r.stderr, r.stderr
    r = _python("import mtrt; print(mtrt.library_path())")
    assert r.returncode == 0 and r.stdout.strip() == os.environ["MTRT_LIBRARY"], r.stderr


def test_cpu_target(bundle):
    # auto: the bundle's generated CPU object when this build has the CPU backend (LLVM) and the
    # host runs it, else the reference kernels and why; a forced target is checked
    with bundle.session("cpu") as s:
        if s.cpu_target == "reference":
            assert "reference kernels (" in s.note, s.note
        else:
            assert s.cpu_target.startswith("x86-64") and "CPU object" in s.note, s.note
    with bundle.session("cpu", cpu_target="reference") as s:
        assert s.cpu_target == "reference" and "cpu_target reference" in s.note
    with pytest.raises(mtrt.InvalidArgumentError, match="cpu_target 'x86-64-v9'"):
        bundle.session("cpu", cpu_target="x86-64-v9")
