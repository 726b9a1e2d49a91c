"""The Triton backend (libtriton_mtrt.so) in a real tritonserver, on a repository written by
`mtcc triton-repo`: over HTTP and gRPC every tenant's outputs equal `mtcc run`; concurrent
clients across tenants for a bounded time with zero errors (p50/p99 printed), and requests of
several tenants combined into rounds; malformed requests get errors while the server keeps
serving; models unload and load again; the server shuts down cleanly. MT_TRITON_BUNDLE picks the
bundle: "tiny" (default, 3 small tenants) or "samples" (the sample mix, MT_MODELS)."""
import os
import re
import subprocess
import threading
import time

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

import mtrt
import serving_util as su
import triton_server

LOAD_SECONDS = float(os.environ.get("MT_TRITON_LOAD_SECONDS", "6"))
LOAD_CLIENTS = int(os.environ.get("MT_TRITON_LOAD_CLIENTS", "6"))


@pytest.fixture(scope="module")
def setup(mtcc, work):
    kind = os.environ.get("MT_TRITON_BUNDLE", "tiny")
    if kind == "samples":
        bundle = su.sample_bundle(mtcc, os.environ["MT_MODELS"], os.path.join(work, "samples"))
    else:
        bundle = su.tiny_bundle(mtcc, os.path.join(work, "tiny"), heavy=True)
    with mtrt.Bundle(bundle) as b:
        tenants = {t.name: t for t in b.tenants}
        feeds = su.random_inputs(b, seed=5)
    expected = su.mtcc_run(mtcc, bundle, feeds, os.path.join(work, "expected"))
    repo = os.path.join(work, "repo")
    subprocess.run(["rm", "-rf", repo], check=True)
    # the tiny bundle's shared session runs worker threads (groups of several tenants at once)
    threads = ["--cpu-threads", "2"] if kind == "tiny" else []
    subprocess.run([mtcc, "triton-repo", bundle, repo] + threads, check=True,
                   stdout=subprocess.DEVNULL)
    backend_dir = os.environ["MT_TRITON_BACKENDS"]
    server = triton_server.start(repo, backend_dir, os.path.join(work, "tritonserver.log"))
    try:
        yield {"threads": threads, "bundle": bundle, "tenants": tenants, "feeds": feeds, "expected": expected,
               "repo": repo, "server": server, "mtcc": mtcc}
    finally:
        server.stop()  # only the server this fixture started, by its pid


def _inputs(mod, tenant, feeds):
    out = []
    for p in tenant.inputs:
        v = feeds[tenant.name][p.name]
        i = mod.InferInput(p.name, list(v.shape), np_to_triton_dtype(v.dtype))
        i.set_data_from_numpy(v)
        out.append(i)
    return out


def _infer(mod, client, tenant, feeds, outputs=None):
    names = outputs or [p.name for p in tenant.outputs]
    res = client.infer(tenant.name, _inputs(mod, tenant, feeds),
                       outputs=[mod.InferRequestedOutput(n) for n in names])
    return {n: res.as_numpy(n) for n in names}


def _clients(server):
    return [(httpclient, httpclient.InferenceServerClient(server.http_url, network_timeout=120.0)),
            (grpcclient, grpcclient.InferenceServerClient(server.grpc_url))]


def test_repository_layout(setup, tmp_path):
    repo = setup["repo"]
    files = sorted(os.listdir(repo))
    assert [f for f in files if f.endswith(".mtbundle")] == [os.path.basename(setup["bundle"])]
    for name, t in setup["tenants"].items():
        cfg = open(os.path.join(repo, name, "config.pbtxt")).read()
        assert f'name: "{name}"' in cfg and 'backend: "mtrt"' in cfg
        for p in t.inputs + t.outputs:
            assert f'name: "{p.name}"' in cfg
        assert os.path.isdir(os.path.join(repo, name, "1"))
        assert ('key: "cpu_threads", value: { string_value: "2" }' in cfg) == bool(setup["threads"])
    # an existing non-empty folder is never overwritten; nothing is left behind
    r = subprocess.run([setup["mtcc"], "triton-repo", setup["bundle"], repo], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "not empty" in r.stderr and r.stderr.startswith("mtcc: error:")
    assert not [f for f in os.listdir(os.path.dirname(repo)) if f.startswith("repo.tmp.")]


def test_outputs_match_mtcc_run_over_http_and_grpc(setup):
    clients = _clients(setup["server"])
    for mod, client in clients:
        for name, t in setup["tenants"].items():
            got = _infer(mod, client, t, setup["feeds"])
            for out, want in setup["expected"][name].items():
                assert got[out].dtype == want.dtype and np.array_equal(got[out], want), \
                    (mod.__name__, name, out)
        # only the outputs asked for come back
        t = next(iter(setup["tenants"].values()))
        last = t.outputs[-1].name
        res = client.infer(t.name, _inputs(mod, t, setup["feeds"]),
                           outputs=[mod.InferRequestedOutput(last)])
        assert np.array_equal(res.as_numpy(last), setup["expected"][t.name][last])
    for _, client in clients:
        client.close()  # an open keep-alive connection would hold up the server's shutdown


def test_concurrent_clients(setup):
    server, tenants = setup["server"], list(setup["tenants"].values())
    lat, errors, lock = {"http": [], "grpc": []}, [], threading.Lock()
    stop_at = time.monotonic() + LOAD_SECONDS

    def client_loop(k):
        mod = httpclient if k % 2 == 0 else grpcclient
        url = server.http_url if mod is httpclient else server.grpc_url
        kw = {"network_timeout": 120.0} if mod is httpclient else {}
        c = mod.InferenceServerClient(url, **kw)
        i = k
        while time.monotonic() < stop_at:
            t = tenants[i % len(tenants)]
            i += 1
            t0 = time.monotonic()
            try:
                got = _infer(mod, c, t, setup["feeds"])
                ok = all(np.array_equal(got[o], w) for o, w in setup["expected"][t.name].items())
                err = None if ok else f"{t.name}: wrong outputs"
            except Exception as e:  # every failure counts; the test wants none
                err = f"{t.name}: {e}"
            with lock:
                if err:
                    errors.append(err)
                else:
                    lat["http" if mod is httpclient else "grpc"].append(time.monotonic() - t0)
        c.close()

    threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(LOAD_CLIENTS)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.monotonic() - t0
    allv = lat["http"] + lat["grpc"]
    for proto, v in list(lat.items()) + [("all", allv)]:
        if v:
            print(f"triton load ({os.environ.get('MT_TRITON_BUNDLE', 'tiny')}, {LOAD_CLIENTS} "
                  f"clients, {wall:.1f} s) {proto}: {len(v)} requests, {len(v) / wall:.1f} req/s, "
                  f"p50 {1e3 * np.percentile(v, 50):.1f} ms, p99 {1e3 * np.percentile(v, 99):.1f} ms")
    assert not errors, errors[:5]
    assert len(allv) >= LOAD_CLIENTS
    rounds = [int(n) for n in re.findall(r"ran in a round of (\d+) tenant", server.log())]
    combined = sum(n > 1 for n in rounds)
    print(f"backend rounds logged: {len(rounds)}, with several tenants: {combined}, "
          f"largest: {max(rounds)} tenant(s)")
    assert combined > 0, "no requests of different tenants were ever combined into one round"


def _refused(call, *words):
    with pytest.raises(InferenceServerException) as e:
        call()
    for w in words:
        assert w in str(e.value), str(e.value)


def test_malformed_requests_get_errors(setup):
    feeds = setup["feeds"]
    t = next(t for t in setup["tenants"].values() if t.inputs[0].dtype == np.float32)
    multi = next((t for t in setup["tenants"].values() if len(t.inputs) > 1), None)
    x = feeds[t.name][t.inputs[0].name]
    clients = _clients(setup["server"])
    for mod, c in clients:
        def send(model, name, arr, dtype=None):
            i = mod.InferInput(name, list(arr.shape), dtype or np_to_triton_dtype(arr.dtype))
            i.set_data_from_numpy(arr)
            return c.infer(model, [i])
        _refused(lambda: send(t.name, t.inputs[0].name, x.reshape(-1)), "shape")
        _refused(lambda: send(t.name, t.inputs[0].name, x.astype(np.float64)), "FP64")
        _refused(lambda: send("no_such_model", t.inputs[0].name, x), "no_such_model")
        _refused(lambda: send(t.name, "no_such_input", x), "no_such_input")
        if multi:
            p = multi.inputs[0]
            _refused(lambda: send(multi.name, p.name, feeds[multi.name][p.name]), "missing")
        # and the server still serves
        got = _infer(mod, c, t, feeds)
        for out, want in setup["expected"][t.name].items():
            assert np.array_equal(got[out], want)
        c.close()


def test_drifted_config_refused_at_load(setup):
    """A config that no longer matches the bundle fails to load with the backend's message, and
    a config naming no bundle too; the other models keep serving."""
    repo, t = setup["repo"], next(iter(setup["tenants"].values()))
    cfg = open(os.path.join(repo, t.name, "config.pbtxt")).read()
    p = t.inputs[0]
    dims = "dims: [ " + ", ".join(str(d) for d in p.shape) + " ]"
    bad = {"drifted": cfg.replace(dims, "dims: [ " + ", ".join(["7"] * len(p.shape)) + " ]", 1),
           "nobundle": re.sub(r'parameters \{ key: "bundle".*\n', "", cfg)}
    words = {"drifted": "differs from the bundle", "nobundle": 'no parameter "bundle"'}
    c = httpclient.InferenceServerClient(setup["server"].http_url, network_timeout=120.0)
    for name, text in bad.items():
        os.makedirs(os.path.join(repo, name, "1"), exist_ok=True)
        with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
            f.write(text.replace(f'name: "{t.name}"', f'name: "{name}"'))
        _refused(lambda: c.load_model(name), words[name])
        assert not c.is_model_ready(name)
    got = _infer(httpclient, c, t, setup["feeds"])
    assert all(np.array_equal(got[o], w) for o, w in setup["expected"][t.name].items())
    c.close()


def test_unload_load_and_clean_shutdown(setup):
    server, names = setup["server"], list(setup["tenants"])
    c = httpclient.InferenceServerClient(server.http_url, network_timeout=120.0)
    first, rest = names[0], names[1:]
    c.unload_model(first)
    deadline = time.monotonic() + 30
    while c.is_model_ready(first) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not c.is_model_ready(first)
    # the other tenants keep their shared session
    t = setup["tenants"][rest[0]]
    got = _infer(httpclient, c, t, setup["feeds"])
    assert all(np.array_equal(got[o], w) for o, w in setup["expected"][t.name].items())
    c.load_model(first)
    assert c.is_model_ready(first)
    t = setup["tenants"][first]
    got = _infer(httpclient, c, t, setup["feeds"])
    assert all(np.array_equal(got[o], w) for o, w in setup["expected"][t.name].items())
    for n in names:
        c.unload_model(n)
    deadline = time.monotonic() + 30
    while any(c.is_model_ready(n) for n in names) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(c.is_model_ready(n) for n in names)
    c.close()
    t0 = time.monotonic()
    code = server.stop()
    print(f"tritonserver stopped in {time.monotonic() - t0:.1f} s with exit code {code}")
    log = server.log()
    assert code == 0, f"tritonserver exited with {code}\n{server.log_tail()}"
    assert "successfully unloaded" in log or "unloaded" in log
    assert not re.search(r"^E\d{4} .*mtrt", log, re.M), "backend errors in the server log"
