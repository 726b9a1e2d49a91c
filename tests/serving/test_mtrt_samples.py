"""The sample mix (samples/demo.json: resnet50, mobilenetv2, yolo_tiny, bert_tiny), compiled as
`mtcc compile -o` does by default (with GPU code), through python/mtrt equals `mtcc run BUNDLE`
bit for bit, all tenants in one round and each alone."""
import os

import numpy as np
import pytest

import mtrt
import serving_util as su


def test_sample_mix_equals_mtcc_run(mtcc, work):
    models = os.environ.get("MT_MODELS")
    if not models:
        pytest.fail("MT_MODELS is not set (the folder gen_models.py wrote)")
    # the bundle as `mtcc compile -o` writes it by default: GPU code (NVRTC) beside the CPU plan
    path = su.sample_bundle(mtcc, models, os.path.join(work, "samples"), cpu_only=False)
    with mtrt.Bundle(path) as b:
        assert [t.name for t in b.tenants] == ["classifier", "mobile", "detector", "encoder"]
        feeds = su.random_inputs(b, seed=11)
        expected = su.mtcc_run(mtcc, path, feeds, os.path.join(work, "samples_run"))
        with b.session() as s:
            got = s.run(feeds)
            print("per-tenant ms:", {t: round(v / 1e3, 1) for t, v in s.timings_us.items()})
            lone = s.run({"detector": feeds["detector"]})
    for t in expected:
        for name, want in expected[t].items():
            assert np.array_equal(got[t][name], want), (t, name)
    assert np.array_equal(lone["detector"]["detections"], expected["detector"]["detections"])
