#!/usr/bin/env python3
"""Writes OUT/summary.md from what scripts/gpu_proof.sh left in OUT: results.json (bench_gpu.py),
steps.tsv (one line per step: name, status, seconds, note) and the ctest JUnit file of the GPU
tests. Works on partial results (a step that failed or never ran is a row saying so), so the
script calls it whatever happened. Every table is always present; docs/perf/README.md describes
each one. tests/bench/check_proof_summary.py checks the dry run's summary against that list.

usage: proof_summary.py OUT [--junit FILE]
"""
import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET

TABLES = ["Environment", "Steps", "GPU tests", "Models", "Output check", "mtcc per configuration",
          "Per tenant", "Baselines", "Ratios mtcc / baseline", "Calibration"]
BASELINES = ["B0", "B1", "B2", "B3", "B4", "ORT"]
BASELINE_NAMES = {"B0": "PyTorch eager, sequential", "B1": "CUDA Graph per tenant, sequential",
                  "B2": "B1 forked over a stream per tenant",
                  "B3": "torch.compile(mode=\"reduce-overhead\"), sequential",
                  "B4": "B1 on green-context streams with the SM budgets",
                  "ORT": "ONNX Runtime, a session per tenant, sequential"}


def table(head, rows):
    if not rows:
        rows = [["(none)"] + [""] * (len(head) - 1)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |"
            for r in rows]
    return "\n".join(out) + "\n"


def us(v):
    return "" if v is None else f"{v:,.1f}"


def med(d, key="makespan_us", q="median"):
    return ((d or {}).get(key) or {}).get(q)


def fmt_ratio(a, b):
    return f"{a / b:.3f}" if a and b else "n/a"


def steps_rows(out):
    path = os.path.join(out, "steps.tsv")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 3:
                    rows.append(parts[:4] + [""] * (4 - len(parts[:4])))
    return rows


def gpu_test_rows(junit):
    if not junit or not os.path.exists(junit):
        return [["(not run)", "", "", "no JUnit file: the GPU-test step did not run or failed"]]
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError as e:
        return [["(unreadable)", "", "", str(e)]]
    rows = []
    for tc in root.iter("testcase"):
        status, message, output = tc.get("status") or "run", "", ""
        for child in tc:
            if child.tag in ("failure", "skipped", "error"):
                status = "skipped" if child.tag == "skipped" else "failed"
                message = (child.get("message") or child.text or "").strip()
            elif child.tag == "system-out":
                output = (child.text or "").strip()
        why = ""
        if status in ("skipped", "failed"):
            # the test's own last line says why (ctest's message is only the exit code rule)
            lines = [l.strip() for l in output.splitlines() if l.strip()]
            why = (lines[-1] if lines else message)[:200]
        rows.append([tc.get("name"), "passed" if status == "run" else status,
                     f"{float(tc.get('time') or 0):.1f}", why])
    if not rows:
        rows = [["(no test labelled gpu)", "", "", "ctest -L gpu found no test"]]
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--junit", default="")
    a = ap.parse_args()
    res = {}
    rpath = os.path.join(a.out, "results.json")
    if os.path.exists(rpath):
        with open(rpath) as f:
            res = json.load(f)
    env, prot, tor = res.get("environment", {}), res.get("protocol", {}), res.get("torch", {})
    cfgs = res.get("configs", [])
    dry = env.get("mode") == "dry-run"
    cpu = env.get("device") == "cpu"
    md = ["# mtcc GPU proof" + (" (dry run: CPU numbers, tiny shapes)" if dry else
                                " (CPU numbers: no GPU was visible)" if cpu else ""), ""]
    if dry:
        md += ["This is a dry run: every time below was measured on the CPU path of libmtrt with "
               "tiny shapes, not on a GPU. It proves the script, not the performance.", ""]
    elif cpu:
        md += ["No GPU was visible: every time below was measured on the CPU path of libmtrt, "
               "not on a GPU.", ""]

    md.append("## Environment\n")
    rows = [[k, env.get(k, "")] for k in ("date", "mode", "device", "gpu", "driver",
                                          "cuda_driver_api", "nvcc", "cpu", "cpu_count", "host")]
    rows += [["PyTorch", tor.get("torch", tor.get("skipped", ""))],
             ["torchvision", tor.get("torchvision", "")], ["transformers", tor.get("transformers", "")],
             ["precision", tor.get("precision", "FP32 (mtcc bundles: FP32 math, TF32 off)")],
             ["rounds / warm-up", f"{prot.get('rounds', '')} / {prot.get('warmup', '')}"],
             ["shapes", f"images {prot.get('image', '')}x{prot.get('image', '')}, BERT seq "
                        f"{prot.get('bert_seq', '')}"],
             ["T3 SM budgets", json.dumps(prot.get("t3_budgets", {}))]]
    md.append(table(["what", "value"], rows))

    md.append("## Steps\n")
    md.append(table(["step", "status", "seconds", "note"], steps_rows(a.out)))

    md.append("## GPU tests (ctest -L gpu)\n")
    md.append(table(["test", "status", "seconds", "why skipped or failed"], gpu_test_rows(a.junit)))

    md.append("## Models\n")
    md.append(table(["model", "source", "exporter", "seconds", "why the generator was used"],
                    [[n, m.get("source", ""), m.get("exporter", ""),
                      f"{m.get('seconds', 0):.1f}", m.get("fallback_reason", "")]
                     for n, m in sorted(res.get("models", {}).items())]))

    md.append(f"## Output check (relative L2 <= {prot.get('tolerance', 1e-4)})\n")
    rows = []
    for c in cfgs:
        st = c.get("steps", {}).get("check")
        if st and not st["ok"]:
            rows.append([c["id"], "", "", "", "FAILED: " + st.get("error", "")])
        for r in c.get("check") or []:
            rows.append([c["id"], r["tenant"], r["output"], f"{r['rel_l2']:.2e} vs {r['reference']}",
                         "ok" if r["ok"] else "MISMATCH"])
    md.append(table(["config", "tenant", "output", "rel L2", "result"], rows))

    md.append("## mtcc per configuration\n")
    rows = []
    for c in cfgs:
        comp, m = c.get("compile") or {}, c.get("mtcc") or {}
        modes = m.get("modes") or {}
        rnd, ind, alone = modes.get("round") or {}, modes.get("independent") or {}, \
            modes.get("standalone") or {}
        sum_alone = sum(med(t, "time_us") or 0 for t in alone.get("tenants", []))
        eff = fmt_ratio(sum_alone, med(rnd))
        err = c.get("steps", {}).get("mtcc", {})
        setup = modes.get("round_setup") or {}
        # SMs per partition: granted by the bundle / read back from the green context
        parts = ", ".join(f"{p['granted_sms']}/{p['actual_sms']} {'hard' if p['hard'] else 'soft'}"
                          for p in setup.get("partitions", []) if p.get("granted_sms"))
        note = setup.get("note", "")
        rows.append([c["id"], c.get("kind", ""), us(med(rnd)), us(med(rnd, q="p99")),
                     f"{rnd.get('throughput_rounds_per_s', 0):.1f}", us(med(ind)),
                     us(med(modes.get("window"))), eff,
                     comp.get("kernels_per_round", ""), comp.get("graph_nodes_per_round", ""),
                     us(comp.get("predicted_makespan_us")),
                     f"{(m.get('peak_device_bytes') or m.get('peak_rss_bytes') or 0) / 2**20:.0f}",
                     f"{m.get('bundle_load_ms', 0):.1f}",
                     f"{(m.get('modes', {}).get('round_setup') or {}).get('session_create_ms', 0):.1f}",
                     f"{comp.get('compile_seconds', 0):.1f}",
                     "; ".join(x for x in (setup.get("device", ""),
                                           note if note != setup.get("device") else "",
                                           "SMs granted/read back " + parts if parts else "") if x),
                     "" if err.get("ok", True) else "FAILED: " + err.get("error", "")])
    md.append(table(["config", "kind", "round makespan median us", "p99 us", "rounds/s",
                     "independent median us", "batched-window median us",
                     "concurrency efficiency", "kernels/round",
                     "graph nodes/round", "predicted makespan us",
                     "peak memory MiB" + (" (host RSS)" if cpu else " (device)"), "bundle load ms",
                     "session create ms", "compile s", "session (device, note, SM budgets)",
                     "error"], rows))

    md.append("## Per tenant\n")
    rows = []
    for c in cfgs:
        comp, modes = c.get("compile") or {}, ((c.get("mtcc") or {}).get("modes") or {})
        names = list((comp.get("tenants") or {}))
        rnd = {t["index"]: t for t in (modes.get("round") or {}).get("tenants", [])}
        alone = {t["index"]: t for t in (modes.get("standalone") or {}).get("tenants", [])}
        for i, n in enumerate(names):
            r, s = rnd.get(i, {}), alone.get(i, {})
            pred = comp["tenants"][n]["predicted_us"]
            iso = fmt_ratio(med(r, "time_us", "p99"), med(s, "time_us", "p99")) \
                if c.get("budgets") else ""
            rows.append([c["id"], n, us(med(r, "time_us")), us(med(r, "time_us", "p99")),
                         us(med(s, "time_us")), us(med(s, "time_us", "p99")), us(pred),
                         fmt_ratio(pred, med(s, "time_us")), iso])
    md.append(table(["config", "tenant", "in round p50 us", "in round p99 us", "alone p50 us",
                     "alone p99 us", "predicted us", "predicted / measured alone",
                     "isolation ratio (p99 co-located / alone, budget run)"], rows))

    md.append("## Baselines\n")
    rows = []
    for c in cfgs:
        for b in BASELINES:
            r = (c.get("baselines") or {}).get(b)
            if r is None:
                continue
            if "skipped" in r:
                rows.append([c["id"], b, BASELINE_NAMES[b], "", "", "", "", "skipped: " + r["skipped"]])
            else:
                rows.append([c["id"], b, BASELINE_NAMES[b], us(med(r)), us(med(r, q="p99")),
                             f"{r.get('throughput_rounds_per_s', 0):.1f}",
                             f"{(r.get('peak_device_bytes') or 0) / 2**20:.0f}",
                             r.get("settings", r.get("note", ""))])
    md.append(table(["config", "baseline", "what", "makespan median us", "p99 us", "rounds/s",
                     "peak device MiB", "note"], rows))

    md.append("## Ratios mtcc / baseline (round makespan medians; < 1: mtcc is faster)\n")
    rows = []
    for c in cfgs:
        modes = ((c.get("mtcc") or {}).get("modes") or {})
        for mode in ("round", "independent", "window"):
            if mode not in modes:
                continue
            mt = med(modes.get(mode))
            cells = []
            for b in BASELINES:
                r = (c.get("baselines") or {}).get(b) or {}
                cells.append(fmt_ratio(mt, med(r)) if "skipped" not in r else "skipped")
            rows.append([c["mix"] if "mix" in c else c["id"], c.get("batch", ""),
                         "budget" if c.get("budgets") else "", mode] + cells)
    md.append(table(["mix", "batch", "SM budgets", "mtcc mode"] + BASELINES, rows))

    md.append("## Calibration\n")
    cal = res.get("calibration") or {}
    if cal.get("label", "").startswith("cpu"):
        md.append("Fitted to CPU times: the parameters describe this CPU, not a GPU, and are "
                  f"written as {cal.get('file', 'arch-params.cpu*.json')} only.\n")
    rows = [["file", cal.get("file", cal.get("error", "not written"))],
            ["model", cal.get("model", "")], ["points", cal.get("points", "")],
            ["fit rms relative error", f"{cal.get('fit_rms_relative_error', 0):.3f}"]]
    rows += [[k, f"{v:.6g}"] for k, v in sorted((cal.get("params") or {}).items())]
    rows += [["note", n] for n in cal.get("notes", [])]
    for when in ("before", "after"):
        e = cal.get(when) or {}
        if e.get("median_factor"):
            rows.append([f"prediction off by (median / worst factor), {when}",
                         f"{e['median_factor']:.2f}x / {e['worst_factor']:.2f}x"])
    md.append(table(["what", "value"], rows))
    per = {(r["config"], r["tenant"]): r for r in (cal.get("before") or {}).get("rows", [])}
    rows = []
    for r in (cal.get("after") or {}).get("rows", []):
        b = per.get((r["config"], r["tenant"]), {})
        rows.append([r["config"], r["tenant"], us(r["measured_us"]), us(b.get("predicted_us")),
                     us(r["predicted_us"])])
    md.append("\n" + table(["config", "tenant", "measured alone us", "predicted before us",
                            "predicted after us"], rows))

    errs = list(res.get("errors", []))
    for c in cfgs:
        for k, s in c.get("steps", {}).items():
            if not s["ok"]:
                errs.append(f"{c['id']} {k}: {s.get('error', '')}")
    md.append("## Failures and skips\n")
    md.append("\n".join(f"- {e}" for e in errs) + "\n" if errs else "none\n")
    text = "\n".join(md)
    tmp = os.path.join(a.out, "summary.md.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(a.out, "summary.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
