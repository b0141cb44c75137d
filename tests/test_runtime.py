"""The quick-mode switch and device choice."""
import pytest
import torch

import stylelib as sl


def test_tier_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("STYLELIB_QUICK", raising=False)
    for name in ("full", "laptop", "quick"):
        monkeypatch.setenv("STYLELIB_MODE", name)
        assert sl.tier().name == name and sl.tier().reason == f"STYLELIB_MODE={name}"
        assert sl.pick(full=512, laptop=256, quick=128) == {"full": 512, "laptop": 256, "quick": 128}[name]
        assert sl.quick() == (name == "quick")
    monkeypatch.setenv("STYLELIB_MODE", "fast")
    with pytest.raises(sl.SettingsError, match="STYLELIB_MODE='fast' is not a tier: use one of full, laptop, quick"):
        sl.tier()


def test_tier_without_a_setting_follows_the_machine(monkeypatch):
    monkeypatch.delenv("STYLELIB_MODE", raising=False)
    monkeypatch.setenv("STYLELIB_QUICK", "1")  # the older spelling still means quick
    assert sl.tier().name == "quick"
    monkeypatch.delenv("STYLELIB_QUICK")
    for cuda, name in ((True, "full"), (False, "laptop")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        assert sl.tier().name == name
        assert f"tier: {name} (" in sl.features.describe()  # the notebooks' first line says the tier and why


def test_pick_names_every_tier():
    with pytest.raises(TypeError):
        sl.pick(512, 128)  # the two-tier positional form would silently mean laptop=128


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
