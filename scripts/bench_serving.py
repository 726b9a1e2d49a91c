#!/usr/bin/env python3
"""Throughput and latency of serving the sample mix (samples/demo.json) through Triton (the mtrt
backend in a real tritonserver, HTTP and gRPC) against libmtrt in-process (python/mtrt), in one
run. Every request is one tenant's inference with fixed random inputs; clients pick tenants
round-robin. Prints one line per path: requests, requests/s, p50/p90/p99 latency.

usage: scripts/bench_serving.py [--seconds 20] [--clients 8] [--build build] [--work DIR]
Needs scripts/setup.sh (tritonclient, nvidia-pytriton) and a build (mtcc, libmtrt.so,
libtriton_mtrt.so)."""
import argparse
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "serving"))
sys.path.insert(0, os.path.join(ROOT, "python", "mtrt"))


def run_clients(n, seconds, make_call):
    """n threads call make_call(k)() repeatedly for seconds; returns (latencies, wall, errors)."""
    lat, errors, lock = [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def loop(k):
        call = make_call(k)
        i = k
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                call(i)
            except Exception as e:  # counted and shown, never hidden
                with lock:
                    errors.append(str(e))
                continue
            finally:
                i += 1
            with lock:
                lat.append(time.monotonic() - t0)

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(n)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return lat, time.monotonic() - t0, errors


def report(name, lat, wall, errors):
    import numpy as np
    if not lat:
        print(f"{name:<34} no successful request; errors: {errors[:3]}")
        return
    p = np.percentile(lat, [50, 90, 99]) * 1e3
    print(f"{name:<34} {len(lat):6d} {len(lat) / wall:8.2f} {p[0]:9.1f} {p[1]:9.1f} {p[2]:9.1f}"
          f"   errors {len(errors)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    work = os.path.abspath(args.work or os.path.join(build, "bench_serving"))
    os.makedirs(work, exist_ok=True)
    os.environ.setdefault("MTRT_LIBRARY", os.path.join(build, "libmtrt.so"))
    mtcc = os.path.join(build, "mtcc")

    import mtrt
    import serving_util as su
    import tritonclient.grpc as grpcclient
    import tritonclient.http as httpclient
    import triton_server
    from tritonclient.utils import np_to_triton_dtype

    models = os.path.join(work, "models")
    if not all(os.path.exists(os.path.join(models, m + ".onnx")) for m in su.SAMPLE_MODELS):
        print("== generating the sample models")
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "models", "gen_models.py"),
                        "--out", models, "--only", ",".join(su.SAMPLE_MODELS)], check=True,
                       stdout=subprocess.DEVNULL)
    bundle = su.sample_bundle(mtcc, models, os.path.join(work, "bundle"))  # CPU plan only
    b = mtrt.Bundle(bundle)
    tenants = list(b.tenants)
    feeds = su.random_inputs(b, seed=1)
    print(f"bundle {bundle}: tenants {', '.join(t.name for t in tenants)}; {args.clients} clients, "
          f"{args.seconds:.0f} s per path; {os.cpu_count()} CPU(s)")
    print(f"{'path':<34} {'reqs':>6} {'req/s':>8} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9}")

    # in-process: one lone request at a time on one session, then one session per client
    s = b.session()
    report("mtrt in-process, 1 client", *run_clients(
        1, args.seconds, lambda k: lambda i: s.run({tenants[i % len(tenants)].name:
                                                    feeds[tenants[i % len(tenants)].name]})))
    sessions = [b.session() for _ in range(args.clients)]
    report(f"mtrt in-process, {args.clients} sessions", *run_clients(
        args.clients, args.seconds,
        lambda k: lambda i: sessions[k].run({tenants[i % len(tenants)].name:
                                             feeds[tenants[i % len(tenants)].name]})))
    for x in sessions + [s]:
        x.close()

    repo = os.path.join(work, "repo")
    subprocess.run(["rm", "-rf", repo], check=True)
    subprocess.run([mtcc, "triton-repo", bundle, repo], check=True, stdout=subprocess.DEVNULL)
    with triton_server.start(repo, os.path.join(build, "triton", "backends"),
                             os.path.join(work, "server.log"), verbose=False) as server:
        for mod, url, proto in ((httpclient, server.http_url, "HTTP"),
                                (grpcclient, server.grpc_url, "gRPC")):
            def make(k, mod=mod, url=url):
                kw = {"network_timeout": 300.0} if mod is httpclient else {}
                c = mod.InferenceServerClient(url, **kw)

                def call(i):
                    t = tenants[i % len(tenants)]
                    ins = []
                    for p in t.inputs:
                        v = feeds[t.name][p.name]
                        x = mod.InferInput(p.name, list(v.shape), np_to_triton_dtype(v.dtype))
                        x.set_data_from_numpy(v)
                        ins.append(x)
                    c.infer(t.name, ins)
                return call
            report(f"triton {proto}, 1 client", *run_clients(1, args.seconds, make))
            report(f"triton {proto}, {args.clients} clients", *run_clients(args.clients, args.seconds, make))
        server.stop()
    b.close()


if __name__ == "__main__":
    main()
