"""The quick-mode switch and device choice."""
import pytest
import torch

import stylelib as sl


def test_quick_switch_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("STYLELIB_QUICK", "1")
    assert sl.quick() and sl.pick(512, 128) == 128
    monkeypatch.setenv("STYLELIB_QUICK", "0")
    assert not sl.quick() and sl.pick(512, 128) == 512


def test_stylize_defaults_shrink_in_quick_mode(monkeypatch, model):
    monkeypatch.setenv("STYLELIB_QUICK", "1")
    planned = []
    real_optimize = sl.transfer.optimize
    monkeypatch.setattr(sl.transfer, "optimize", lambda image, loss_fn, steps, *args, **kwargs: planned.append(steps)
                        or real_optimize(image, loss_fn, 1, *args, **kwargs))  # plan the default steps, run one
    result = sl.stylize(sl.content("cat"), sl.style("starry_night"), model=model, progress=False)
    assert (planned[0], max(result.image.shape[-2:])) == (30, 128)


def test_device_override(monkeypatch):
    assert sl.device("cpu") == torch.device("cpu")
    monkeypatch.setenv("STYLELIB_DEVICE", "cpu")
    assert sl.device() == torch.device("cpu")
    with pytest.raises(sl.SettingsError, match="unknown device"):
        sl.device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(sl.SettingsError, match="CUDA is not available"):
            sl.device("cuda")
