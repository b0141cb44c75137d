"""The benchmark cannot rot: a tiny run of bench/run.py, and the baseline's objective checked
against stylelib's (both start from the content photo, so evaluation 1 must give the same loss)."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import run as bench  # noqa: E402


def test_smoke_run_writes_rows_table_and_plot(tmp_path):
    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", "32", "--evals", "3",
                           "--repeats", "1", "--device", "cpu", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert sorted(r["impl"] for r in rows) == ["baseline", "stylelib"]
    for row in rows:
        assert set(bench.ROW_KEYS) <= set(row)
        assert (row["device"], row["size"], row["evals"]) == ("cpu", 32, 3)
        assert row["ms_per_eval"] > 0 and row["peak_mem_mb"] >= 0
        assert math.isfinite(row["style_loss"]) and math.isfinite(row["content_loss"])
        assert row["style_loss"] > 0 and row["content_loss"] >= 0
    first = {r["impl"]: r["loss_eval1"] for r in rows}
    # the same objective; stylelib's convolutions run in bf16 where native (the next test compares fp32 exactly)
    assert first["stylelib"] == pytest.approx(first["baseline"], rel=1e-2)
    table = out.with_suffix(".md").read_text().splitlines()
    assert table[0].startswith("| impl |") and len(table) == 4
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_baseline_minimises_the_same_objective_as_stylelib():
    rows = bench.benchmark(["stylelib-fp32", "baseline"], [48], evals=2, repeats=1,
                           device=torch.device("cpu"), log=lambda *_: None)
    first = {r["impl"]: r["loss_eval1"] for r in rows}
    assert first["baseline"] == pytest.approx(first["stylelib-fp32"], rel=1e-5)
    assert first["baseline"] > 0



def test_time_to_target_mode_writes_rows_with_the_baselines_target(tmp_path):
    out = tmp_path / "t.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--target-evals", "4", "--sizes", "32",
                           "--device", "cpu", "--impls", "baseline", "stylelib", "--budgets", "0.5", "60",
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert [r["impl"] for r in rows] == ["baseline", "stylelib"]
    base = rows[0]
    for row in rows:
        assert set(bench.ROW_KEYS) <= set(row) and row["target_loss"] == base["target_loss"]
        seconds = [s for s, _, _ in row["curve"]]
        assert seconds == sorted(seconds) and len(row["curve"]) == row["evals"]  # one check per evaluation
        if row["seconds_to_target"] is not None:  # the first checked image at or below the target
            hit = next(c for c in row["curve"] if c[2] <= base["target_loss"])
            assert row["seconds_to_target"] == pytest.approx(hit[0], abs=1e-3) and row["evals_to_target"] == hit[1]
        assert row["loss_at"]["60.0"] == min(loss for _, _, loss in row["curve"])
    # the target is the baseline's own loss at its last evaluation, which it therefore reaches there
    assert base["evals_to_target"] <= base["evals"] == 4 and base["curve"][-1][2] == base["target_loss"]
    assert out.with_name("t_32.png").read_bytes()[:4] == b"\x89PNG"


def test_arithmetic_counts_the_convolutions_as_torch_does(model):
    """bench/arithmetic.py's FLOPs per evaluation: the analytic count of the forward convolutions equals torch's
    own FLOP counter on the forward pass, and the backward to the pixels (frozen weights: input gradients only)
    counts exactly as much again, so 2 × conv_flops is one evaluation."""
    import arithmetic
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    with FlopCounterMode(display=False) as forward:
        features = model(x, arithmetic.LAYERS)
    with FlopCounterMode(display=False) as backward:
        sum(f.sum() for f in features.values()).backward()
    expected = arithmetic.conv_flops(model, 64)
    assert forward.get_total_flops() == expected
    assert backward.get_total_flops() == expected
    assert arithmetic.conv_flops(model, 128) == 4 * expected  # scales with the pixels
    assert arithmetic.conv_flops(model, 64, ["relu1_1"]) == 2 * 64 * 64 * 3 * 64 * 9  # conv1_1 alone
