#!/usr/bin/env python3
"""`mtcc report` / `mtcc compile --report-html` (issue 16).

--inputs: on a hand-written report (no models needed): the page is byte-identical for the same
  input, names are HTML-escaped, and corrupt reports, another mtcc_report_version, missing fields,
  dangling names and non-JSON input each give exactly one `mtcc: error:` line, exit 1, no page.
--browser --models DIR: compiles a 4-tenant, 2-partition mix of the generated models (mobilenetv2
  twice, so horizontal groups are shared and striped, yolo_tiny, bert_tiny), checks the report's
  predicted timeline against the schedule rules (stream order, waits, durations), renders the page
  in headless Chromium (--dump-dom and --screenshot), and reads the DOM back: every tenant,
  partition and stream appears, one box per horizontal group with a stripe per tenant, the inline
  script ran, and Chromium logged no console error. Exit 77 (skip) when Chromium is missing.
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


def one_line_error(mtcc, report_path, out, label, must_contain=None):
    if os.path.exists(out):
        os.unlink(out)
    r = run([mtcc, "report", report_path, "-o", out])
    lines = r.stderr.splitlines()
    check(r.returncode == 1, "%s: exit %d, want 1" % (label, r.returncode))
    check(len(lines) == 1 and lines[0].startswith("mtcc: error: "),
          "%s: want one 'mtcc: error:' line, got %r" % (label, r.stderr))
    check(not os.path.exists(out), "%s: a page was written" % label)
    if must_contain and lines:
        check(must_contain in lines[0], "%s: %r not in %r" % (label, must_contain, lines[0]))


def handmade_report():
    """A small valid report written by hand (not by mtcc): two partitions, three tenants, one
    shared horizontal group, a wait, rejected fusions."""
    hg = lambda kind, part, stream, pos, start, us, members, waits: {
        "kind": kind, "partition": part, "stream": stream, "position": pos, "predicted_us": us,
        "predicted_start_us": start, "predicted_end_us": start + us,
        "members": [{"tenant": t, "group": g} for t, g in members], "waits": waits}
    return {
        "mtcc_report_version": "1", "target": "sm_90",
        "summary": {"nodes_imported": 9, "kernels_unfused": 9, "fused_groups": 5,
                    "kernels_per_round": 4, "horizontal_groups_formed": 1,
                    "intermediate_bytes_unfused": 4096.0, "intermediate_bytes_fused": 1024.0,
                    "peak_arena_bytes": 2048, "unplanned_bytes": 4096,
                    "predicted_makespan_us": 30.0, "sum_predicted_alone_us": 55.0,
                    "compile_seconds": 0.5},
        "partitions": [
            {"name": "vis<ion>", "sm_budget": 64, "sm_count": 64, "streams": 2, "arena_bytes": 1024,
             "unplanned_bytes": 0, "predicted_makespan_us": 30.0},
            {"name": "nlp", "sm_budget": 0, "sm_count": 68, "streams": 1, "arena_bytes": 1024,
             "unplanned_bytes": 4096, "predicted_makespan_us": 12.0}],
        "tenants": [
            {"name": "a&b", "model": "m1.onnx", "partition": "vis<ion>", "priority": 0,
             "nodes_imported": 3, "nodes_after_cleanup": 3, "fused_groups": 2,
             "groups": [{"predicted_us": 10.0}, {"predicted_us": 8.0}], "streams": [0],
             "predicted_latency_alone_us": 18.0, "intermediate_buffer_bytes": 512.0},
            {"name": "<script>alert(1)</script>", "model": "m2.onnx", "partition": "vis<ion>",
             "priority": 0, "nodes_imported": 3, "nodes_after_cleanup": 3, "fused_groups": 2,
             "groups": [{"predicted_us": 10.0}, {"predicted_us": 15.0}], "streams": [0, 1],
             "predicted_latency_alone_us": 25.0, "intermediate_buffer_bytes": 512.0},
            {"name": "bert", "model": "m3.onnx", "partition": "nlp", "priority": 0,
             "nodes_imported": 3, "nodes_after_cleanup": 3, "fused_groups": 1,
             "groups": [{"predicted_us": 12.0}], "streams": [0],
             "predicted_latency_alone_us": 12.0, "intermediate_buffer_bytes": 0.0}],
        "horizontal_groups": [
            hg("grouped-gemm", "vis<ion>", 0, 0, 0.0, 11.0, [("a&b", 0), ("<script>alert(1)</script>", 2)], []),
            hg("single", "vis<ion>", 0, 1, 11.0, 8.0, [("a&b", 1)], []),
            hg("single", "vis<ion>", 1, 2, 12.0, 15.0, [("<script>alert(1)</script>", 3)], [0]),
            hg("single", "nlp", 0, 0, 0.0, 12.0, [("bert", 4)], [])],
        "rejected_fusions": [
            {"pass": "fuse-vertical", "what": "x -> y", "reason": "shape differs"},
            {"pass": "fuse-horizontal", "what": "p | q", "reason": "different kinds"},
            {"pass": "fuse-vertical", "what": "u -> v", "reason": "shape differs"}]}


def check_inputs(mtcc, work):
    os.makedirs(work, exist_ok=True)
    good = os.path.join(work, "good.json")
    with open(good, "w") as f:
        json.dump(handmade_report(), f)
    pages = []
    for i in range(2):
        out = os.path.join(work, "good%d.html" % i)
        r = run([mtcc, "report", good, "-o", out])
        check(r.returncode == 0 and r.stderr == "", "good report: exit %d %r" % (r.returncode, r.stderr))
        pages.append(open(out, "rb").read() if os.path.exists(out) else b"")
    check(pages[0] and pages[0] == pages[1], "the same report gave different pages")
    page = pages[0].decode("utf-8", "replace")
    check("<script>alert(1)</script>" not in page, "a tenant name reached the page unescaped")
    check("&lt;script&gt;alert(1)&lt;/script&gt;" in page, "the escaped tenant name is missing")
    check("a&amp;b" in page and "vis&lt;ion&gt;" in page, "names with & and <> not escaped")
    check(not re.search(r"(src|href)=\"(https?:)?//", page), "the page loads something remote")
    check(re.search(r"2 &#215; fuse-vertical: shape differs", page) is not None,
          "rejected fusions not grouped by reason with counts")
    # compile --report-html's page for the same JSON is covered by --browser (byte comparison)

    def variant(name, mutate, must=None):
        doc = handmade_report()
        mutate(doc)
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        one_line_error(mtcc, path, os.path.join(work, name + ".html"), name, must)

    variant("version_2", lambda d: d.update(mtcc_report_version="2"), "mtcc_report_version")
    variant("version_number", lambda d: d.update(mtcc_report_version=1), "mtcc_report_version")
    variant("no_version", lambda d: d.pop("mtcc_report_version"), "mtcc_report_version")
    variant("no_partitions", lambda d: d.pop("partitions"), "partitions")
    variant("stream_string", lambda d: d["horizontal_groups"][1].update(stream="0"), "stream")
    variant("stream_huge", lambda d: d["horizontal_groups"][1].update(stream=1 << 40), "stream")
    variant("no_start", lambda d: d["horizontal_groups"][2].pop("predicted_start_us"), "predicted_start_us")
    variant("end_before_start", lambda d: d["horizontal_groups"][2].update(predicted_end_us=1.0))
    variant("wait_dangling", lambda d: d["horizontal_groups"][2].update(waits=[99]), "waits")
    variant("member_unknown", lambda d: d["horizontal_groups"][0]["members"][0].update(tenant="zz"), "zz")
    variant("partition_unknown", lambda d: d["tenants"][2].update(partition="gone"), "gone")
    variant("summary_missing", lambda d: d["summary"].pop("kernels_per_round"), "kernels_per_round")
    with open(os.path.join(work, "array_root.json"), "w") as f:
        f.write("[1, 2]")
    one_line_error(mtcc, os.path.join(work, "array_root.json"), os.path.join(work, "x.html"), "array root")
    text = open(good).read()
    with open(os.path.join(work, "truncated.json"), "w") as f:
        f.write(text[: len(text) // 2])
    one_line_error(mtcc, os.path.join(work, "truncated.json"), os.path.join(work, "x.html"), "truncated", "corrupt")
    with open(os.path.join(work, "bundle.bin"), "wb") as f:
        f.write(b"MTCCBNDL\x00\x01\x02\n\nsecond line")
    one_line_error(mtcc, os.path.join(work, "bundle.bin"), os.path.join(work, "x.html"), "non-JSON", "bundle")
    one_line_error(mtcc, os.path.join(work, "missing.json"), os.path.join(work, "x.html"), "missing file")
    r = run([mtcc, "report", good])
    check(r.returncode == 1 and r.stderr.count("\n") == 1 and "-o" in r.stderr, "no -o: %r" % r.stderr)


class Dom(HTMLParser):
    """Collects what the check needs from the rendered DOM."""

    def __init__(self):
        super().__init__()
        self.partitions, self.lanes, self.boxes, self.tenants = [], [], [], []
        self.body_js = None
        self.current_part, self.current_box = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "body":
            self.body_js = a.get("data-js")
        if "partition" in cls:
            self.current_part = a.get("data-partition")
            self.partitions.append(self.current_part)
        if tag == "g" and "lane" in cls:
            self.lanes.append((self.current_part, int(a["data-stream"])))
        if tag == "g" and "hg" in cls:
            self.current_box = {"id": int(a["data-hgroup"]), "partition": a["data-partition"],
                                "in": self.current_part, "stream": int(a["data-stream"]),
                                "tenants": a["data-tenants"], "rects": [], "info": a.get("data-info")}
            self.boxes.append(self.current_box)
        if tag == "rect" and self.current_box is not None:
            self.current_box["rects"].append(a)
        if tag == "tr" and "tenant" in cls:
            self.tenants.append(a.get("data-tenant"))

    def handle_endtag(self, tag):
        if tag == "g":
            self.current_box = None


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def check_schedule(rep):
    """The predicted timeline obeys the schedule: per partition and stream, groups in position
    order do not overlap; a group starts after every group it waits on ends; end - start is its
    predicted time; nothing ends after its partition's makespan."""
    hgs = rep["horizontal_groups"]
    makespan = {p["name"]: p["predicted_makespan_us"] for p in rep["partitions"]}
    lanes = {}
    for i, h in enumerate(hgs):
        check(abs(h["predicted_end_us"] - h["predicted_start_us"] - h["predicted_us"]) < 1e-6,
              "group %d: end - start != predicted_us" % i)
        check(h["predicted_end_us"] <= makespan[h["partition"]] + 1e-6, "group %d ends after the makespan" % i)
        lanes.setdefault((h["partition"], h["stream"]), []).append(h)
        for w in h["waits"]:
            check(h["predicted_start_us"] >= hgs[w]["predicted_end_us"] - 1e-6,
                  "group %d starts before group %d it waits on ends" % (i, w))
    for key, lane in lanes.items():
        lane.sort(key=lambda h: h["position"])
        for a, b in zip(lane, lane[1:]):
            check(b["predicted_start_us"] >= a["predicted_end_us"] - 1e-6, "overlap on lane %s" % (key,))
    ends = [h["predicted_end_us"] for h in hgs]
    check(max(ends) > 0, "every group ends at 0")


def check_browser(mtcc, models, work):
    chromium = find_chromium()
    if not chromium:
        print("SKIP: no chromium on PATH (scripts/setup.sh installs Debian's chromium)")
        return 77
    os.makedirs(work, exist_ok=True)
    m = lambda f: os.path.join(os.path.abspath(models), f)
    manifest = {"targets": ["sm_90"],
                "partitions": [{"name": "vision", "sm_budget": 80}, {"name": "nlp", "sm_budget": 48}],
                "tenants": [
                    {"name": "mobilenet", "model": m("mobilenetv2.onnx"), "partition": "vision", "dims": {"batch": 1}},
                    {"name": "mobilenet_b", "model": m("mobilenetv2.onnx"), "partition": "vision", "dims": {"batch": 1}},
                    {"name": "yolo", "model": m("yolo_tiny.onnx"), "partition": "vision", "dims": {"batch": 1}},
                    {"name": "bert", "model": m("bert_tiny.onnx"), "partition": "nlp", "dims": {"batch": 1, "seq": 32}}]}
    mpath = os.path.join(work, "manifest.json")
    with open(mpath, "w") as f:
        json.dump(manifest, f, indent=1)
    rjson, page1, page2 = (os.path.join(work, n) for n in ("report.json", "compile.html", "report.html"))
    r = run([mtcc, "compile", mpath, "--report", rjson, "--report-html", page1])
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        return 1
    r = run([mtcc, "report", rjson, "-o", page2])
    check(r.returncode == 0, "mtcc report: %r" % r.stderr)
    check(open(page1, "rb").read() == open(page2, "rb").read(),
          "compile --report-html and mtcc report differ for the same report")
    rep = json.load(open(rjson))
    check_schedule(rep)
    check(any(len(h["members"]) > 1 for h in rep["horizontal_groups"]), "no shared horizontal group to stripe")

    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--enable-logging=stderr", "--v=0", "--window-size=1300,1500"]
    url = "file://" + os.path.abspath(page2)
    shot = os.path.join(work, "report.png")
    r = run(flags + ["--screenshot=" + shot, url])
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000, "no screenshot: %r" % r.stderr[-2000:])
    r = run(flags + ["--dump-dom", url])
    check(r.returncode == 0, "chromium --dump-dom exit %d" % r.returncode)
    console = [l for l in r.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    check(not console, "console errors: %r" % console)
    dom = Dom()
    dom.feed(r.stdout)
    check(dom.body_js == "ok", "the inline script did not run to its end (data-js=%r)" % dom.body_js)
    check(sorted(dom.tenants) == sorted(t["name"] for t in rep["tenants"]),
          "tenant rows %r" % dom.tenants)
    check(dom.partitions == [p["name"] for p in rep["partitions"]], "partitions %r" % dom.partitions)
    for p in rep["partitions"]:
        lanes = sorted(s for part, s in dom.lanes if part == p["name"])
        check(lanes == list(range(p["streams"])), "partition %s: lanes %r, want %d" % (p["name"], lanes, p["streams"]))
    by_id = {}
    for b in dom.boxes:
        by_id.setdefault(b["id"], []).append(b)
    check(sorted(by_id) == list(range(len(rep["horizontal_groups"]))), "box ids differ from the groups")
    for i, h in enumerate(rep["horizontal_groups"]):
        boxes = by_id.get(i, [])
        check(len(boxes) == 1, "group %d: %d boxes" % (i, len(boxes)))
        if len(boxes) != 1:
            continue
        b = boxes[0]
        tenants = list(dict.fromkeys(mm["tenant"] for mm in h["members"]))
        check(b["in"] == h["partition"] and b["partition"] == h["partition"] and b["stream"] == h["stream"],
              "group %d drawn in %s/%s stream %d" % (i, b["in"], b["partition"], b["stream"]))
        check(b["tenants"].split() == tenants, "group %d tenants %r" % (i, b["tenants"]))
        fills = [rr.get("fill") for rr in b["rects"]]
        check(len(fills) == len(tenants) and len(set(fills)) == len(tenants),
              "group %d: %d stripes %r for %d tenants" % (i, len(fills), fills, len(tenants)))
    print("browser: %d tenants, %d partitions, %d boxes checked; screenshot %s"
          % (len(dom.tenants), len(dom.partitions), len(dom.boxes), shot))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models")
    ap.add_argument("--browser", action="store_true")
    a = ap.parse_args()
    rc = check_browser(a.mtcc, a.models, a.work) if a.browser else (check_inputs(a.mtcc, a.work) or 0)
    if rc == 77:
        return 77
    print("%d failure(s)" % len(FAILS))
    return 1 if FAILS or rc else 0


if __name__ == "__main__":
    sys.exit(main())
