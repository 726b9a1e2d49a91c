#!/usr/bin/env python3
"""Checks that every #include in the tree's C sources and headers runs down the layer stack.

Layers, from the ground up (docs/architecture.md):

    runtime/base <- runtime/cpu <- runtime <- ir <- plan <- frontend, passes, codegen <- driver <- tools

A file may include headers of its own layer and of the layers listed for it in ALLOWED; anything
else runs upward (e.g. ir/ including plan/) or sideways (frontend/ including passes/) and is
reported as FILE:LINE. LLVM headers (the CPU backend) only in codegen/cpu/ and driver/. frontend/ sits on ir/ only: importing a model needs no kernel or schedule
layer. include/mtcc.h is the driver's public header, include/mtrt.h the runtime's. Tests may include
any library layer but never tools/ (the CLI is not a library).

usage: check_includes.py [--root DIR]   check the tree (default: the repository of this script)
       check_includes.py --self-test    plant bad includes in a scratch tree and expect failures
"""
import argparse
import os
import re
import sys
import tempfile

RUNTIME = {"runtime/base", "runtime/cpu", "runtime"}
ALLOWED = {
    "runtime/base": set(),
    "runtime/cpu": {"runtime/base"},
    "runtime": {"runtime/base", "runtime/cpu"},
    "ir": RUNTIME,
    "plan": RUNTIME | {"ir"},
    "frontend": RUNTIME | {"ir"},
    "passes": RUNTIME | {"ir", "plan"},
    "codegen": RUNTIME | {"ir", "plan"},
    "driver": RUNTIME | {"ir", "plan", "frontend", "passes", "codegen"},
    "tools": RUNTIME | {"ir", "plan", "frontend", "passes", "codegen", "driver"},
    "tests": RUNTIME | {"ir", "plan", "frontend", "passes", "codegen", "driver", "serving"},
    # the Triton backend is an application of libmtrt: the public include/mtrt.h only
    "serving": {"runtime"},
}
# Public headers belong to the layer that implements them.
PUBLIC_HEADERS = {"include/mtcc.h": "driver", "include/mtrt.h": "runtime"}
# Longest prefix first so runtime/base wins over runtime.
PREFIXES = ["runtime/base", "runtime/cpu", "runtime", "ir", "plan", "frontend", "passes", "codegen",
            "driver", "tools", "tests", "serving"]
# LLVM is the CPU backend's compile-time dependency: only these folders may include its headers,
# so libmtrt (and every other layer) stays free of LLVM.
LLVM_INCLUDERS = ("codegen/cpu/", "driver/")
SKIP_DIRS = {".git", ".venv", "__pycache__", "node_modules"}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def layer_of(rel):
    """The layer a repository-relative path belongs to, or None (scripts, samples, other)."""
    rel = rel.replace(os.sep, "/")
    if rel in PUBLIC_HEADERS:
        return PUBLIC_HEADERS[rel]
    if rel.startswith("include/"):
        return "include"
    for p in PREFIXES:
        if rel == p or rel.startswith(p + "/"):
            return p
    return None


def is_build_dir(path, names):
    return "CMakeCache.txt" in names or os.path.basename(path).startswith("build")


def source_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath != root and is_build_dir(dirpath, filenames):
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            if f.endswith((".c", ".h")):
                yield os.path.join(dirpath, f)


def resolve(root, src, quote, target):
    """Repository-relative path of an include, or None when it is outside the tree (system or
    generated headers). Quoted includes look next to the file first, as the compiler does; both
    forms then look in the repository root and include/ (the project's include path)."""
    candidates = []
    if quote == '"':
        candidates.append(os.path.join(os.path.dirname(src), target))
    candidates += [os.path.join(root, target), os.path.join(root, "include", target)]
    for c in candidates:
        if os.path.isfile(c):
            return os.path.relpath(os.path.realpath(c), os.path.realpath(root))
    # Not on disk (e.g. a header generated at build time): judge it by its folder if that names a
    # layer, so "passes/nonexistent.h" from ir/ is still an upward include.
    if quote == '"' and layer_of(target) not in (None, "tests"):
        return target
    return None


def check(root):
    root = os.path.abspath(root)
    problems = []
    for path in source_files(root):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        layer = layer_of(rel)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        for lineno, line in enumerate(lines, 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            quote, target = m.group(1), m.group(2)
            if target.startswith(("llvm-c/", "llvm/")) and not rel.startswith(LLVM_INCLUDERS):
                problems.append(f'{rel}:{lineno}: {layer} may not include "{target}" (LLVM): '
                                "only codegen/cpu/ and driver/ may include LLVM headers")
                continue
            dep_rel = resolve(root, path, quote, target)
            if dep_rel is None or dep_rel.startswith(".."):
                continue
            dep = layer_of(dep_rel)
            if dep is None or dep == layer:
                continue
            if dep == "tools":
                why = "nothing outside tools/ may include the CLI"
            elif layer is None:
                continue  # scripts and samples are outside the layer stack
            elif layer == "include":
                why = "a public header includes only its own layer's public headers"
            elif dep in ALLOWED.get(layer, set()):
                continue
            elif dep == "tests":
                why = "library code may not include tests"
            elif dep == "include":
                why = "no layer owns this public header"
            elif layer in ALLOWED.get(dep, set()):
                why = "upward include"
            else:
                why = "sideways include"
            problems.append(f'{rel}:{lineno}: {layer} may not include "{target}" ({dep}): {why}')
    return problems


def self_test():
    """Plants one bad include per rule in a scratch tree (plus good ones) and checks that exactly
    the bad ones are reported, each with its file and line."""
    files = {
        "runtime/base/status.h": "",
        "runtime/cpu/tensor.h": '#include "runtime/base/status.h"\n',
        "ir/module.h": '#include "runtime/cpu/tensor.h"\n',
        "ir/bad.c": '#include "ir/module.h"\n#include "plan/plan.h"\n',
        "plan/plan.h": '#include "ir/module.h"\n',
        "frontend/frontend.h": '#include "ir/module.h"\n',
        "frontend/bad.c": '/* fine */\n#include "frontend/frontend.h"\n#include "passes/pass.h"\n',
        "frontend/bad_plan.c": '#include "plan/plan.h"\n',
        "passes/pass.h": '#include "plan/plan.h"\n',
        "passes/bad.c": '#include <stdio.h>\n#include "driver/driver.h"\n',
        "driver/driver.h": '#include "passes/pass.h"\n#include "frontend/frontend.h"\n',
        "runtime/cpu/bad.c": '#include "ir/module.h"\n',
        "runtime/base/bad.c": '#include "runtime/cpu/tensor.h"\n',
        "include/mtcc.h": '#include <stdio.h>\n',
        "include/bad.h": '#include "passes/pass.h"\n',
        "tools/cli.h": '#include "mtcc.h"\n#include "driver/driver.h"\n',
        "tests/bad.c": '#include "passes/pass.h"\n#include "tools/cli.h"\n',
        "ir/gen_bad.c": '#include "codegen/not_generated_yet.h"\n',
        "include/mtrt.h": '#include <stddef.h>\n',
        "serving/bad.c": '#include "mtrt.h"\n#include "runtime/base/status.h"\n',
        "runtime/bad_llvm.c": '#include <stdint.h>\n#include <llvm-c/Core.h>\n',
        "codegen/bad_llvm.c": '#include <llvm-c/Target.h>\n',
        "codegen/cpu/good_llvm.c": '#include <llvm-c/Core.h>\n',
    }
    expected = {
        "ir/bad.c:2", "frontend/bad.c:3", "frontend/bad_plan.c:1", "passes/bad.c:2",
        "runtime/cpu/bad.c:1", "runtime/base/bad.c:1", "include/bad.h:1", "tests/bad.c:2",
        "ir/gen_bad.c:1", "serving/bad.c:2", "runtime/bad_llvm.c:2", "codegen/bad_llvm.c:1",
    }
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w") as f:
                f.write(text)
        problems = check(tmp)
    found = {p.split(": ", 1)[0] for p in problems}
    for p in problems:
        print("  planted:", p)
    if found != expected:
        print(f"self-test FAILED: missed {sorted(expected - found)}, "
              f"reported wrongly {sorted(found - expected)}")
        return 1
    print(f"self-test passed: {len(expected)} planted bad includes reported, good ones accepted")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    problems = check(args.root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) break the layering (see docs/architecture.md)")
        return 1
    print("layering: every include runs down the layer stack")
    return 0


if __name__ == "__main__":
    sys.exit(main())
