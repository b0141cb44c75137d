"""A batched sweep (bench/batch_sweep.py) gives what separate runs give (Adam), and why it cannot use L-BFGS."""
import sys
from pathlib import Path

import pytest
import torch

import stylelib as sl
from stylelib import precision

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from batch_sweep import stylize_sweep  # noqa: E402


@pytest.fixture(scope="module")
def pair():
    return sl.content("cat", size=40), sl.style("starry_night", size=40)


def test_sweep_matches_separate_adam_runs(model, pair):
    weights = [0.3, 3.0, 30.0]  # around the default β (at β = 1e-3 the gradients near the photo fall to Adam's ε)
    with precision.options(bf16=False, channels_last=False):  # exact arithmetic, so rounding is all that differs
        swept = stylize_sweep(*pair, weights, size=40, steps=8, model=model, progress=False)
        alone = [sl.stylize(*pair, size=40, steps=8, style_weight=w, optimizer="adam", model=model, progress=False)
                 for w in weights]
    for batched, single in zip(swept, alone):
        for term in ("content", "style", "range", "total"):
            assert batched.history[term] == pytest.approx(single.history[term], rel=1e-4, abs=1e-7)
        assert (batched.image - single.image).abs().max() < 1e-3
    # the settings really differ, by far more than batched and separate runs do
    assert (swept[0].image - swept[2].image).abs().max() > 3e-2


def _toy_runs(optimizer, steps=4):
    """Two independent quadratics with different curvature: optimised together and apart."""
    scale = torch.tensor([[1.0, 3.0], [0.5, 8.0]])
    start = torch.tensor([[1.0, -2.0], [3.0, 1.0]])

    def run(rows):
        x = start[rows].clone().requires_grad_(True)
        opt = (torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=50) if optimizer == "lbfgs"
               else torch.optim.Adam([x], lr=0.1))

        def closure():
            opt.zero_grad()
            loss = (scale[rows] * x.pow(2)).sum()  # the sum of each row's own loss
            loss.backward()
            return loss
        for _ in range(steps):
            opt.step(closure)
        return x.detach()

    return run([0, 1]), torch.cat([run([0]), run([1])])


def test_adam_on_a_batch_equals_separate_runs():
    together, apart = _toy_runs("adam")
    assert torch.allclose(together, apart, rtol=1e-6, atol=1e-7)


def test_lbfgs_on_a_batch_couples_the_images():
    together, apart = _toy_runs("lbfgs")
    assert (together - apart).abs().max() > 1e-2


@pytest.mark.parametrize("weights", [[], 0.1, None, "0.1", [0.1, -1.0], [float("nan")]])
def test_bad_weight_lists_are_refused(model, pair, weights):
    with pytest.raises(sl.SettingsError, match="style.weight"):
        stylize_sweep(*pair, weights, size=32, steps=2, model=model, progress=False)
