"""bench/gpu_check.py shrunk to the CPU (--device cpu --tiny): every part runs and is recorded as ok,
so the one call a GPU machine gets runs the same code at paper size."""

import json
import os
import subprocess
import sys

import pytest
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

PARTS = ("training", "lipread", "inference", "recipe")


def test_gpu_check_runs_every_part_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # the synthetic stage-3 dump, whatever a local bench/make_gpu_bundle.sh left in .whl/
    cmd = [sys.executable, str(REPO_ROOT / "bench" / "gpu_check.py"), "--device", "cpu", "--tiny", "--out", str(out),
           "--recipe_data", "synthetic", "--budget_s", "1200", "--workdir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    report = json.loads((out / "gpu_check.json").read_text())
    failed = {k: v.get("error", "")[-1500:] for k, v in report["parts"].items() if not v.get("ok")}
    assert not failed, failed
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert tuple(report["parts"]) == PARTS
    assert report["meta"]["device"] == "cpu" and report["meta"]["tiny"] is True

    training = report["parts"]["training"]["result"]
    for stage in ("stage_one", "vcfm_t"):
        runs = training[stage]["runs"]
        assert set(runs) == {"float32", "bf16_amp"} and all(r["finite"] for r in runs.values()), stage
        search = training[stage]["memory_search"]["float32"]
        assert search["largest_fit"] == 2 and search["largest_batch_bins"] > 0, stage

    lipread = report["parts"]["lipread"]["result"]
    assert lipread["runs"]["float32"]["finite"] and lipread["head_fit"]["finite"]

    rows = report["parts"]["inference"]["result"]["rows"]
    assert {(r["decode"], r["precision"]) for r in rows} == {(d, p) for d in ("default", "ddim10")
                                                            for p in ("float32", "bfloat16")}
    assert all(r["finite"] and r["rtf"] > 0 for r in rows)
    assert {r["sampler"] for r in rows} == {"auto", "ddim"}

    recipe = report["parts"]["recipe"]["result"]
    assert recipe["data"] == "synthetic" and recipe["ngpu"] == 0 and recipe["utterances"] > 0
    assert recipe["max_duration_diff_frames"] <= 1
    table = (out / "gpu_check.md").read_text()
    assert all(f"| {part} | yes |" in table for part in PARTS), table
