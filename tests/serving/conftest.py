"""pytest set-up for the serving tests: where mtcc, libmtrt and the work folder are (CTest passes
them as environment variables), and the python/mtrt package on sys.path."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "mtrt"))


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set (CTest sets it; see tests/serving/CMakeLists.txt)")
    return value


@pytest.fixture(scope="session")
def mtcc():
    return _env("MTCC")


@pytest.fixture(scope="session")
def work():
    path = _env("MT_SERVING_WORK")
    os.makedirs(path, exist_ok=True)
    return path
