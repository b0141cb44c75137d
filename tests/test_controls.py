"""Several styles and spatial masks in `stylize`, and the masked Gram matrix behind them."""
import pytest
import torch
import torch.nn.functional as F

import stylelib as sl
from stylelib.losses import gram_matrix, masked_gram_matrix, style_layer_loss, style_loss


def _images(seed=0, size=(24, 32)):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(1, 3, *size, generator=g) for _ in range(3)]


def test_masked_gram_of_a_constant_mask_is_the_plain_gram():
    f = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    for value in (1.0, 0.3):
        assert torch.allclose(masked_gram_matrix(f, torch.full((6, 7), value, dtype=torch.float64)), gram_matrix(f))


def test_masked_gram_of_a_binary_mask_uses_only_the_masked_positions():
    f = torch.randn(1, 4, 6, 8, dtype=torch.float64)
    mask = torch.zeros(6, 8, dtype=torch.float64)
    mask[1:4, 2:7] = 1
    inside = f[0][:, mask.bool()]  # (N, K): only the K masked positions, by indexing
    expected = inside @ inside.T / inside.shape[1]
    assert torch.allclose(masked_gram_matrix(f, mask)[0], expected)


def test_mask_is_resized_to_the_layer_by_area_averaging():
    f = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    mask = torch.zeros(8, 8, dtype=torch.float64)
    mask[:, :4] = 1  # left half at 8×8 → left half at 4×4
    small = torch.zeros(4, 4, dtype=torch.float64)
    small[:, :2] = 1
    assert torch.allclose(masked_gram_matrix(f, mask), masked_gram_matrix(f, small))


def test_mask_confines_the_feature_gradient_to_its_region():
    f = torch.randn(1, 4, 6, 8, dtype=torch.float64, requires_grad=True)
    mask = torch.zeros(6, 8, dtype=torch.float64)
    mask[2:5, 1:4] = 1
    target = gram_matrix(torch.randn(1, 4, 5, 5, dtype=torch.float64))
    style_layer_loss(f, target, mask).backward()
    grad = f.grad.abs().sum(1)[0]
    assert grad[mask == 0].max() == 0
    assert (grad[mask == 1] > 0).all()


def test_mask_confines_pixel_gradients_through_vgg(model):
    """relu1_1 sees a 3×3 neighbourhood, so the style gradient may reach 1 px beyond the mask, no further."""
    x = torch.rand(1, 3, 20, 24, requires_grad=True)
    mask = torch.zeros(20, 24)
    mask[5:12, 6:15] = 1
    target = {"relu1_1": gram_matrix(model(torch.rand(1, 3, 20, 24), ["relu1_1"])["relu1_1"])}
    style_loss(model(x, ["relu1_1"]), target, mask=mask).backward()
    reach = F.max_pool2d(mask[None, None], 3, 1, 1)[0, 0]  # the mask grown by 1 px
    grad = x.grad.abs().sum(1)[0]
    assert grad[reach == 0].max() == 0
    assert grad[mask == 1].min() > 0


def test_stylize_with_a_mask_changes_only_pixels_near_the_mask(model):
    content, style, _ = _images()
    mask = torch.zeros(24, 32)
    mask[4:14, 8:20] = 1
    r = sl.stylize(content, [style], style_masks=[mask], content_weight=0, style_layers=("relu1_1",), size=32,
                   optimizer="adam", lr=0.05, steps=3, model=model, progress=False)
    moved = (r.image - content).abs().sum(1)[0]
    reach = F.max_pool2d(mask[None, None], 3, 1, 1)[0, 0]
    assert moved[reach == 0].max() == 0
    assert moved[mask == 1].mean() > 1e-3


def test_zero_weight_style_contributes_nothing(model):
    """Same start, Adam steps: identical images mean identical gradients at every step."""
    content, a, b = _images()
    settings = dict(optimizer="adam", steps=3, size=32, model=model, progress=False)
    alone = sl.stylize(content, a, **settings)
    blended = sl.stylize(content, [a, b], style_blend=[1.0, 0.0], **settings)
    other = sl.stylize(content, [a, torch.rand(1, 3, 30, 30)], style_blend=[1.0, 0.0], **settings)
    assert torch.equal(alone.image, blended.image) and torch.equal(alone.image, other.image)
    assert alone.history["style"] == blended.history["style"]
    mixed = sl.stylize(content, [a, b], style_blend=[1.0, 0.5], **settings)
    assert not torch.equal(alone.image, mixed.image)  # a positive weight does change the result


def test_blend_weights_are_normalised(model):
    content, a, b = _images()
    settings = dict(optimizer="adam", steps=2, size=32, model=model, progress=False)
    one = sl.stylize(content, [a, b], style_blend=[1, 1], **settings)
    two = sl.stylize(content, [a, b], style_blend=[3, 3], **settings)
    assert torch.allclose(one.image, two.image, atol=1e-6)
    assert one.history["style"][0] == pytest.approx(two.history["style"][0], rel=1e-6)


def test_blend_loss_is_the_weighted_sum_of_single_style_losses(model):
    content, a, b = _images()
    settings = dict(optimizer="adam", steps=1, size=32, model=model, progress=False)
    la = sl.stylize(content, a, **settings).history["style"][0]
    lb = sl.stylize(content, b, **settings).history["style"][0]
    mixed = sl.stylize(content, [a, b], style_blend=[0.25, 0.75], **settings).history["style"][0]
    assert mixed == pytest.approx(0.25 * la + 0.75 * lb, rel=1e-5)


@pytest.mark.parametrize("kwargs, words", [
    (dict(style_blend=[1.0]), "style_blend"),
    (dict(style_blend=[0, 0]), "all 0"),
    (dict(style_blend=[1, -1]), "≥ 0"),
    (dict(style_masks=[torch.full((4, 4), 2.0), None]), "[0, 1]"),
    (dict(style_masks=[None]), "mask"),
])
def test_bad_blend_or_mask_settings_are_one_line_errors(model, kwargs, words):
    content, a, b = _images()
    with pytest.raises(sl.SettingsError, match=None) as error:
        sl.stylize(content, [a, b], steps=1, size=32, model=model, progress=False, **kwargs)
    assert words in str(error.value) and "\n" not in str(error.value)
