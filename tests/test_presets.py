"""Presets: exactly the documented layers and weights, and conversions checked against each source's own formula."""
import dataclasses
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

import stylelib as sl
from stylelib import presets
from stylelib.layers import layer_names
from stylelib.losses import content_loss, style_loss

DOCUMENTED = {  # name: (content layers, {style layer: w_l}, β, TV weight, optimizer, lr, options, convention)
    "gatys2016": (("relu4_2",), {f"relu{k}_1": 0.2 for k in range(1, 6)}, 1e3, 0.0, "lbfgs", None, {}, "caffe"),
    "pytorch_tutorial": (("conv2_2",), {"conv1_1": 1 / 64 ** 2, "conv1_2": 1 / 64 ** 2, "conv2_1": 1 / 128 ** 2,
                                        "conv2_2": 1 / 128 ** 2, "conv3_1": 1 / 256 ** 2}, 1e6, 0.0, "lbfgs", 1.0, {},
                         "torchvision"),
    "tensorflow_tutorial": (("relu5_2",), {f"relu{k}_1": 0.2 for k in range(1, 6)}, 1e-2, 30.0, "adam", 0.02,
                            {"betas": (0.99, 0.999), "eps": 0.1}, "caffe"),
    "johnson2016": (("relu3_3",), {"relu1_2": 1 / 64 ** 2, "relu2_2": 1 / 128 ** 2, "relu3_3": 1 / 256 ** 2,
                                   "relu4_3": 1 / 512 ** 2}, 5.0, 0.0, "lbfgs", 1.0, {}, "caffe"),
}


@pytest.mark.parametrize("name", DOCUMENTED)
def test_preset_carries_exactly_the_documented_layers_and_weights(name):
    p = presets.preset(name)
    o, r = p.objective, p.run
    content, weights, beta, tv, optimizer, lr, options, convention = DOCUMENTED[name]
    assert o.content_layers == content and not o.scale_free  # the sources' own, unnormalised terms
    assert o.style_layers == tuple(weights)
    assert dict(o.layer_weights) == pytest.approx(weights, rel=1e-12) and list(o.layer_weights) == list(weights)
    assert o.style_weight == pytest.approx(beta, rel=1e-12) and o.tv_weight == pytest.approx(tv, rel=1e-12)
    assert (r.optimizer, r.lr, dict(r.optimizer_options or {}), p.convention) == (optimizer, lr, options, convention)
    assert set(o.content_layers + o.style_layers) <= set(layer_names("vgg16"))  # runnable on the offline VGG16


def test_presets_are_frozen():
    p = presets.preset("gatys2016")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.objective.style_weight = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.steps = 1
    with pytest.raises(TypeError):
        p.objective.layer_weights["relu1_1"] = 1.0
    with pytest.raises(sl.SettingsError, match="gatys2016"):
        presets.preset("gatys")


def _features(h, w, layers, seed):
    """Random non-negative features of the right shape for an h×w image (block k is 2^(k-1) smaller)."""
    g = torch.Generator().manual_seed(seed)
    shape = lambda name: (1, presets._n(name), h // 2 ** (int(name[4]) - 1), w // 2 ** (int(name[4]) - 1))
    return {name: torch.rand(*shape(name), generator=g, dtype=torch.float64) for name in layers}


def _ours(settings, x, p_content, a_style):
    """This library's weighted content + style terms for feature dicts."""
    o = settings["objective"]
    grams = {k: (lambda f: (f.flatten(2) @ f.flatten(2).transpose(1, 2)) / f[0, 0].numel())(v) for k, v in a_style.items()}
    c = sum(content_loss(x[n], p_content[n]) for n in o.content_layers)
    return o.content_weight * c + o.style_weight * style_loss(x, grams, o.weights())


def test_gatys_conversion_matches_the_papers_loss():
    h, w = 64, 48
    p = presets.preset("gatys2016")
    settings = p.settings(shape=(h, w))
    layers = [*p.objective.content_layers, *p.objective.style_layers]
    x, target, style = (_features(h, w, layers, s) for s in (0, 1, 2))
    alpha, beta = 1.0, 1e3
    lc = 0.5 * sum(((x[n] - target[n]) ** 2).sum() for n in p.objective.content_layers)
    ls = 0
    for n in p.objective.style_layers:
        f, a = x[n][0].flatten(1), style[n][0].flatten(1)
        big_n, m = f.shape
        ls = ls + 0.2 * ((f @ f.T - a @ a.T) ** 2).sum() / (4 * big_n ** 2 * m ** 2)
    n, m = 512, (h // 8) * (w // 8)
    # the paper's loss divided by α·N·M/2 (the factor between its content loss and ours) is our loss
    assert (alpha * lc + beta * ls) / (alpha * n * m / 2) == pytest.approx(float(_ours(settings, x, target, style)), rel=1e-9)


def _mse_gram_loss(x, style, layers, per_layer_weight, divide_by_nm):
    total = 0
    for n in layers:
        f, a = x[n][0].flatten(1), style[n][0].flatten(1)
        norm = f.numel() if divide_by_nm else f.shape[1]
        total = total + per_layer_weight * F.mse_loss(f @ f.T / norm, a @ a.T / norm)
    return total


@pytest.mark.parametrize("name, content_layer, beta", [("pytorch_tutorial", "conv2_2", 1e6),
                                                       ("johnson2016", "relu3_3", 5.0)])
def test_mse_of_normalised_gram_conversions_match_their_sources(name, content_layer, beta):
    """PyTorch tutorial and fast-neural-style: Gram / (N·M), mean squared error, summed over layers, content MSE × 1."""
    p = presets.preset(name)
    layers = [*p.objective.content_layers, *p.objective.style_layers]
    x, target, style = (_features(32, 32, layers, s) for s in (3, 4, 5))
    source = F.mse_loss(x[content_layer], target[content_layer]) + _mse_gram_loss(x, style, p.objective.style_layers, beta, True)
    assert float(source) == pytest.approx(float(_ours(p.settings(), x, target, style)), rel=1e-9)


def test_tensorflow_conversion_matches_its_loss():
    h, w = 40, 60
    p = presets.preset("tensorflow_tutorial")
    settings = p.settings(shape=(h, w))
    layers = [*p.objective.content_layers, *p.objective.style_layers]
    x, target, style = (_features(h * 8, w * 8, layers, s) for s in (9, 10, 11))
    style_part = _mse_gram_loss(x, style, p.objective.style_layers, 1e-2 / 5, False)  # Gram / M, mean over layers × 1e-2
    content_part = 1e4 * ((x["relu5_2"] - target["relu5_2"]) ** 2).mean()
    # the tutorial's own scale, not divided by its content weight: Adam's ε = 0.1 keeps its meaning
    assert float(style_part + content_part) == pytest.approx(float(_ours(settings, x, target, style)), rel=1e-9)
    # tf.image.total_variation sums |Δy| over (H-1)×W and |Δx| over H×(W-1) pixels, all channels;
    # ours averages over the (H-1)×(W-1) grid, so they agree up to the last row and column
    image = torch.rand(1, 3, h, w, dtype=torch.float64)
    tf_tv = (image[..., 1:, :] - image[..., :-1, :]).abs().sum() + (image[..., :, 1:] - image[..., :, :-1]).abs().sum()
    ours = settings["objective"].tv_weight * sl.tv_anisotropic(image)
    assert float(ours) == pytest.approx(float(30 * tf_tv), rel=1 / (h - 1) + 1 / (w - 1))


def test_size_dependent_presets_need_a_shape_and_other_conventions_rescale_beta_and_tv():
    with pytest.raises(sl.SettingsError, match="shape"):
        presets.preset("gatys2016").settings()
    caffe = SimpleNamespace(normalize=SimpleNamespace(convention="caffe"))
    tv = SimpleNamespace(normalize=SimpleNamespace(convention="torchvision"))
    s = presets.CONVENTION_SCALE
    assert presets.preset("pytorch_tutorial").settings(caffe)["objective"].style_weight == pytest.approx(1e6 / s**2)
    assert presets.preset("pytorch_tutorial").settings(tv)["objective"].style_weight == 1e6
    assert presets.preset("johnson2016").settings(tv)["objective"].style_weight == pytest.approx(5.0 * s**2)
    on_tv = presets.preset("tensorflow_tutorial").settings(tv, shape=(11, 21))["objective"]
    assert on_tv.tv_weight == pytest.approx(30 * 3 * 10 * 20 / s**2) and on_tv.content_weight == 1e4


def test_scaled_features_keep_the_balance_of_a_converted_preset():
    """With features × s: content × s², style × s⁴, TV × 1. The converted weights keep every term's share."""
    p, s = presets.preset("tensorflow_tutorial"), presets.CONVENTION_SCALE
    x, target, style = (_features(32, 48, ["relu5_2", *p.objective.style_layers], k) for k in (1, 2, 3))
    image = torch.rand(1, 3, 32, 48, dtype=torch.float64)

    def terms(settings, scale):
        o = settings["objective"]
        grams = {k: sl.gram_matrix(v * scale) for k, v in style.items() if k != "relu5_2"}
        return torch.stack([o.content_weight * content_loss(x["relu5_2"] * scale, target["relu5_2"] * scale),
                            o.style_weight * style_loss({k: v * scale for k, v in x.items()}, grams, o.weights()),
                            o.tv_weight * sl.tv_anisotropic(image)])

    caffe = SimpleNamespace(normalize=SimpleNamespace(convention="caffe"))
    tv = SimpleNamespace(normalize=SimpleNamespace(convention="torchvision"))
    native, other = terms(p.settings(caffe, shape=(32, 48)), 1.0), terms(p.settings(tv, shape=(32, 48)), 1 / s)
    assert torch.allclose(other / other.sum(), native / native.sum(), rtol=1e-9)


def test_a_preset_runs_with_its_optimizer_settings(model):
    r = presets.preset("tensorflow_tutorial").stylize(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32),
                                                       model=model, size=32, steps=2, progress=False)
    assert set(r.history) == {"content", "style", "tv", "range", "total"} and r.steps == 2
