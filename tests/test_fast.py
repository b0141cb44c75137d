"""The feed-forward transformer network, its training loop, checkpoints and saved weights."""
import pickle

import pytest
import torch
from PIL import Image

import stylelib as sl
from stylelib import fast


@pytest.fixture
def photos(tmp_path):
    """A folder of two small photos (one PNG, one JPEG in a subfolder) and a non-image file."""
    g = torch.Generator().manual_seed(0)
    (tmp_path / "sub").mkdir()
    sl.to_pil(torch.rand(1, 3, 40, 50, generator=g)).save(tmp_path / "a.png")
    sl.to_pil(torch.rand(1, 3, 48, 36, generator=g)).save(tmp_path / "sub" / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.mark.parametrize("norm", fast.NORMS)
@pytest.mark.parametrize("size", [(37, 53), (8, 9), (64, 31)])
def test_transformer_keeps_the_input_size(norm, size):
    net = fast.TransformerNet(norm, width=8, blocks=1).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_transformer_refuses_tiny_images_and_unknown_norms():
    with pytest.raises(sl.SettingsError, match="≥ 8"):
        fast.TransformerNet(width=4, blocks=1)(torch.rand(1, 3, 7, 20))
    with pytest.raises(sl.SettingsError, match="instance"):
        fast.TransformerNet("layer")


def test_upsampling_is_nearest_neighbour_then_conv():
    """No transposed convolutions (checkerboards): a constant image stays constant before the last conv."""
    net = fast.TransformerNet("none", width=4, blocks=1)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in net.modules())
    x = torch.rand(1, 4 * 4, 5, 5)
    up = torch.nn.functional.interpolate(x, size=(10, 9), mode="nearest")
    assert torch.equal(up[..., ::2, ::2][..., :5, :5], x)  # every source pixel copied, none mixed


def test_image_paths_and_random_crops(photos):
    paths = fast.image_paths(photos)
    assert [p.name for p in paths] == ["a.png", "b.jpg"]
    crops = fast.random_crops(paths, 6, 16, torch.Generator().manual_seed(0))
    assert crops.shape == (6, 3, 16, 16)
    again = fast.random_crops(paths, 6, 16, torch.Generator().manual_seed(0))
    assert torch.equal(crops, again)  # the generator alone decides crops and flips


def test_crops_come_from_the_photo_or_its_mirror(tmp_path):
    ramp = torch.linspace(0, 1, 60).view(1, 1, 1, 60).expand(1, 3, 40, 60).contiguous()
    sl.to_pil(ramp).save(tmp_path / "ramp.png")
    crops = fast.random_crops(fast.image_paths(tmp_path), 20, 16, torch.Generator().manual_seed(3), zooms=(1.0,))
    rows = crops[:, 0, 8]  # one row per crop: a piece of the ramp, rising or (flipped) falling
    slopes = rows[:, -1] - rows[:, 0]
    assert (slopes > 0).any() and (slopes < 0).any()
    assert ((rows.diff(dim=1) >= -1e-6).all(1) | (rows.diff(dim=1) <= 1e-6).all(1)).all()


def test_crops_are_cut_at_every_zoom(tmp_path):
    """A photo of 1-px stripes: at zoom z (short side z·16 px from 40) a crop's stripe period is z·16/40 of the
    original's 2 px, so the crops' mean absolute difference between neighbours tells which zoom made them."""
    stripes = (torch.arange(60) % 2).float().view(1, 1, 1, 60).expand(1, 3, 40, 60).contiguous()
    sl.to_pil(stripes).save(tmp_path / "stripes.png")
    paths = fast.image_paths(tmp_path)
    crops = fast.random_crops(paths, 40, 16, torch.Generator().manual_seed(0), zooms=(1.0, 2.5))
    contrast = crops[:, 0].diff(dim=-1).abs().mean(dim=(1, 2))
    small, large = contrast < 0.2, contrast > 0.3  # zoom 1: stripes averaged away; zoom 2.5: stripes kept
    assert small.any() and large.any() and (small | large).all()
    with pytest.raises(sl.SettingsError, match="zooms is empty"):
        fast.train(stripes, tmp_path, steps=1, zooms=(), **TINY)


def test_empty_or_missing_training_folders_are_clear_errors(tmp_path):
    with pytest.raises(sl.ImageError, match="no images"):
        fast.image_paths(tmp_path)
    with pytest.raises(sl.ImageError, match="does not exist"):
        fast.image_paths(tmp_path / "missing")


def test_saved_network_round_trips_bit_exactly(tmp_path):
    torch.manual_seed(0)
    net = fast.TransformerNet("batch", width=8, blocks=2)
    net.train()(torch.rand(2, 3, 16, 16))  # move the batch-norm running statistics away from their defaults
    path = fast.save_transformer(net, tmp_path / "net.pt")
    loaded = fast.load_transformer(path, device="cpu")
    assert loaded.config() == net.config()
    original, restored = net.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)
    x = torch.rand(1, 3, 21, 19)
    assert torch.equal(net.eval()(x), loaded(x))


def test_loading_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:  # protocol 2, as torch.save writes
        pickle.dump({"config": {"norm": "instance"}, "state": Image.new("RGB", (2, 2))}, f, protocol=2)
    with pytest.raises(sl.WeightsError, match="not a readable"):
        fast.load_transformer(path)


TINY = dict(size=24, batch_size=1, width=8, blocks=1, lr=1e-2, progress=False)


def test_interrupted_training_resumes_bit_exactly(model, photos, tmp_path):
    """4 steps in one go == 2 steps, stop, resume to 4 (weights, optimizer state and sampler restored)."""
    style = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(5))
    straight = fast.train(style, photos, steps=4, model=model, **TINY)
    ckpt = tmp_path / "ckpt.pt"
    fast.train(style, photos, steps=2, model=model, checkpoint=ckpt, checkpoint_every=1, **TINY)
    resumed = fast.train(style, photos, steps=4, model=model, checkpoint=ckpt, **TINY)
    a, b = straight.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.history == resumed.history and resumed.steps == 4
    state = fast.load_checkpoint(ckpt)
    assert len(state["history"]["total"]) == 4 and not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(sl.SettingsError, match="norm"):
        fast.train(style, photos, steps=5, model=model, checkpoint=ckpt, **{**TINY, "norm": "batch"})


def test_the_painting_is_measured_at_style_size(model, photos, monkeypatch):
    sizes = []
    real = sl.images.as_image
    monkeypatch.setattr(sl.images, "as_image", lambda image, size=None: sizes.append(size) or real(image, size))
    style = torch.rand(1, 3, 64, 48, generator=torch.Generator().manual_seed(5))
    fast.train(style, photos, steps=1, model=model, **TINY)
    fast.train(style, photos, steps=1, model=model, style_size=40, **TINY)
    assert sizes == [fast.STYLE_SIZE, 40]


def test_transfer_scores_are_relative_to_the_photo_and_the_painting(model):
    """By their definition: the photo scores style 1 and content 0; the painting resized to the photo's
    shape content 1 (and a style far below the photo's); their average lies between in content."""
    photo, painting = sl.content("cat", 64), sl.style("starry_night", 64)
    same_shape = torch.nn.functional.interpolate(painting, size=photo.shape[-2:], mode="bilinear")
    assert sl.measure.transfer_scores(photo, photo, painting, model) == pytest.approx({"style": 1, "content": 0})
    of_painting = sl.measure.transfer_scores(same_shape, photo, painting, model)
    assert of_painting["content"] == pytest.approx(1) and of_painting["style"] < 0.5
    mix = sl.measure.transfer_scores((photo + same_shape) / 2, photo, painting, model)
    assert 0 < mix["content"] < 1


def test_training_lowers_the_perceptual_loss(model, photos):
    style = sl.style("starry_night", 32)
    result = fast.train(style, photos, steps=30, model=model, **{**TINY, "lr": 3e-3})
    first, last = result.history["total"][:5], result.history["total"][-5:]
    assert sum(last) < 0.5 * sum(first)
