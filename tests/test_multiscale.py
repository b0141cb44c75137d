"""Coarse-to-fine stylization and the memory estimate behind "the largest image that fits"."""
import pytest
import torch

import stylelib as sl
from stylelib import images, multiscale


def test_multiscale_sizes():
    assert multiscale.level_sizes(512, 3) == [128, 256, 512]
    assert multiscale.level_sizes(300, 2, factor=1.5) == [200, 300]
    with pytest.raises(sl.SettingsError, match="coarsest"):
        multiscale.level_sizes(64, 4)


def test_multiscale_is_the_chain_of_single_scale_runs(model):
    """Level 2 must start from level 1's result upsampled: rebuild the chain by hand, compare bit for bit."""
    photo = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(0))
    style = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    settings = dict(model=model, progress=False, optimizer="adam")
    multi = multiscale.stylize_multiscale(photo, style, size=48, levels=2, steps=[2, 3], **settings)
    first = sl.stylize(images.resize_tensor(photo, 24), style, size=24, steps=2, **settings)
    second = sl.stylize(photo, style, size=48, steps=3, init=first.image, **settings)
    assert torch.equal(multi.image, second.image)
    assert multi.history["total"] == first.history["total"] + second.history["total"]
    assert multi.image.shape == photo.shape and multi.steps == 5
    assert all(a <= b for a, b in zip(multi.seconds, multi.seconds[1:]))


def test_time_limit_stops_a_run(model):
    r = sl.stylize(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), steps=5, model=model, progress=False,
                   callback=multiscale.time_limit(0.0), every=1)
    assert r.stopped == "callback" and r.steps == 1


def test_memory_per_pixel_does_not_depend_on_size(model):
    small, large = multiscale.bytes_per_pixel(model, probe=32), multiscale.bytes_per_pixel(model, probe=64)
    assert small == pytest.approx(large, rel=0.1)
    # at least the float32 activations of conv1_1 and relu1_1 (64 channels each) are kept per pixel
    assert large > 2 * 64 * 4


def test_largest_size_follows_memory_and_aspect(model):
    per_pixel = multiscale.bytes_per_pixel(model)
    wide = torch.rand(1, 3, 50, 100)
    size = multiscale.largest_size(model, wide, fraction=0.5, memory=int(2 * per_pixel * 20_000))
    assert abs(size - 200) <= 2  # 20 000 pixels at 2:1 is 100 × 200
    assert multiscale.largest_size(model, wide, fraction=0.5, memory=int(8 * per_pixel * 20_000)) == pytest.approx(2 * size, abs=2)
