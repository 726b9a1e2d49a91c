"""python/mtrt builds as a pure-Python wheel with its standard build backend (offline: no build
isolation, setuptools and wheel from the venv), and the installed wheel runs a bundle."""
import os
import shutil
import subprocess
import sys
import zipfile

import serving_util as su

PKG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "mtrt")


def test_wheel_builds_installs_and_runs(mtcc, work, tmp_path):
    # built from a copy: setuptools writes build/ and *.egg-info next to the sources
    src = tmp_path / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist),
                    str(src)], check=True, capture_output=True)
    wheels = list(dist.glob("mtrt-*.whl"))
    assert len(wheels) == 1 and wheels[0].name.endswith("-py3-none-any.whl"), wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "mtrt/_capi.py" in names and "mtrt/__init__.py" in names
    assert not [n for n in names if n.endswith((".so", ".c", ".h"))], names  # no compiled code
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(site), str(wheels[0])], check=True)
    bundle = su.tiny_bundle(mtcc, os.path.join(work, "tiny"))
    code = ("import mtrt, numpy as np, sys; b = mtrt.Bundle(sys.argv[1]); s = b.session();"
            "o = s.run({'mlp': {'x': np.ones((2, 16), np.float32)}});"
            "print(mtrt.__file__, o['mlp']['y'].shape)")
    r = subprocess.run([sys.executable, "-c", code, bundle], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(site)), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(str(site)) and "(2, 8)" in r.stdout, r.stdout
