"""stylelib.measure against independent computations: forward shapes, gradients, hand-made DFTs."""
import copy
import math

import matplotlib
import numpy as np
import pytest
import torch

import stylelib as sl
from stylelib import measure, plots

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def vgg_model():
    return sl.vgg(verbose=False, device="cpu")


def test_layer_table_sizes_and_channels_match_a_real_forward_pass(vgg_model):
    image = torch.rand(1, 3, 45, 70)
    rows = measure.layer_table(vgg_model, (45, 70))
    feats = vgg_model(image, vgg_model.names)
    assert [r.name for r in rows] == vgg_model.names
    for row in rows:
        assert tuple(feats[row.name].shape[1:]) == (row.channels, row.height, row.width), row.name


def _measured_receptive_field(model, layer, size=160):
    """Width of the input region that moves one centre unit: the support of its input gradient,
    on the real conv weights with ReLUs dropped and max-pooling replaced by averaging (so no path
    is cut by a dead unit or a lost max), in float64 so tiny corner paths do not underflow."""
    modules = []
    for name, module in copy.deepcopy(model.body).named_children():
        if isinstance(module, torch.nn.MaxPool2d):
            module = torch.nn.AvgPool2d(2, 2)
        if not isinstance(module, torch.nn.ReLU):
            modules.append(module)
        if name == layer:
            break
    stack = torch.nn.Sequential(*modules).double()
    x = torch.rand(1, 3, size, size, dtype=torch.float64, requires_grad=True)
    out = stack(x)
    out[0, :, out.shape[2] // 2, out.shape[3] // 2].sum().backward()
    support = x.grad[0].abs().sum(0) > 0
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    assert rows.min() > 0 and rows.max() < size - 1, "field touches the border: use a larger input"
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("layer", ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv3_3", "pool3", "conv4_2"])
def test_receptive_field_matches_the_gradient_support_on_the_real_conv_stack(vgg_model, layer):
    row = {r.name: r for r in measure.layer_table(vgg_model, 160)}[layer]
    assert _measured_receptive_field(vgg_model, layer) == (row.receptive_field, row.receptive_field)


def test_table_text_marks_fields_that_cover_the_whole_image(vgg_model):
    rows = measure.layer_table(vgg_model, 64)
    lines = measure.table_text(rows, 64).splitlines()
    whole = [line.split()[0] for line in lines[1:] if "whole image" in line]
    assert whole == [r.name for r in rows if r.receptive_field >= 64] and whole and whole[-1] == rows[-1].name


def test_positional_names_follow_the_order_of_conv_modules(vgg_model):
    convs = [name for name, m in vgg_model.body.named_children() if isinstance(m, torch.nn.Conv2d)]
    mapping = measure.positional_names(vgg_model.arch)
    assert [mapping[f"conv_{i}"] for i in range(1, len(convs) + 1)] == convs
    assert mapping["conv_4"] == "conv2_2" and measure.positional_names("vgg19")["conv_9"] == "conv4_1"
    assert mapping["pool_2"] == "pool2"


def test_top_channels_agree_with_a_plain_loop():
    feats = torch.rand(1, 10, 5, 6)
    means = [float(feats[0, c].sum() / 30) for c in range(10)]
    expected = sorted(range(10), key=lambda c: -means[c])[:3]
    got = measure.top_channels(feats, 3)
    assert [c for c, _ in got] == expected
    assert [v for _, v in got] == pytest.approx([means[c] for c in expected], rel=1e-5)


def test_channel_response_ranks_images_by_the_channel_mean(vgg_model):
    images = {"dark": torch.zeros(1, 3, 32, 32), "noise": torch.rand(1, 3, 32, 32), "cat": sl.content("cat", 32)}
    ranking = measure.channel_response(vgg_model, "relu2_1", 5, images)
    direct = {n: float(vgg_model(img, ["relu2_1"])["relu2_1"][0, 5].mean()) for n, img in images.items()}
    assert [n for n, _ in ranking] == sorted(direct, key=lambda n: -direct[n])
    assert dict(ranking) == pytest.approx(direct)


def test_shuffle_patches_moves_whole_tiles_and_nothing_else():
    image = torch.rand(1, 3, 20, 30)
    out = measure.shuffle_patches(image, 10, seed=1)
    assert out.shape == (1, 3, 20, 30)
    tiles = lambda t: sorted(t[..., r:r + 10, c:c + 10].numpy().tobytes() for r in (0, 10) for c in (0, 10, 20))
    assert tiles(out) == tiles(image)
    assert not torch.equal(out, image)
    assert torch.equal(out, measure.shuffle_patches(image, 10, seed=1))
    assert measure.shuffle_patches(image, 7).shape == (1, 3, 14, 28)  # edges that do not fill a tile are cut
    with pytest.raises(sl.SettingsError, match="fewer than two tiles"):
        measure.shuffle_patches(image, 20)


def test_gram_variants_against_explicit_sums():
    feats = torch.rand(1, 4, 3, 5)
    flat = feats[0].reshape(4, 15)
    summed = torch.tensor([[float((flat[i] * flat[j]).sum()) for j in range(4)] for i in range(4)])
    variants = measure.gram_variants(feats)
    assert set(variants) == set(measure.GRAM_NORMALISATIONS)
    assert torch.allclose(variants["sum"][0], summed, rtol=1e-5)
    assert torch.allclose(variants["positions"][0], summed / 15, rtol=1e-5)
    assert torch.allclose(variants["channels x positions"][0], summed / 60, rtol=1e-5)


def test_style_layer_tracker_records_each_layers_loss(vgg_model):
    style = sl.style("starry_night", 32)
    tracker = measure.StyleLayerTracker(vgg_model, style, ["relu1_1", "relu3_1"])
    image = torch.rand(1, 3, 32, 32)
    tracker(1, image, None)
    for layer in ("relu1_1", "relu3_1"):
        f, s = vgg_model(image, [layer])[layer][0], vgg_model(style, [layer])[layer][0]
        n = f.shape[0]
        gf, gs = (torch.einsum("ihw,jhw->ij", t, t) / (t.shape[1] * t.shape[2]) for t in (f, s))
        assert tracker.curves[layer] == [pytest.approx(float(((gf - gs) ** 2).sum() / n**2), rel=1e-4)]
    run = measure.StyleLayerTracker(vgg_model, style)
    result = sl.stylize(sl.content("cat", 32), style, size=32, steps=4, model=vgg_model, callback=run,
                        every=1, progress=False)
    assert all(len(curve) == result.steps == 4 for curve in run.curves.values())
    assert result.stopped is None


def _dft_power(x):
    """|DFT|² of a 2-D array from explicit DFT matrices, no FFT library."""
    h, w = x.shape
    fh = np.exp(-2j * np.pi * np.outer(np.arange(h), np.arange(h)) / h)
    fw = np.exp(-2j * np.pi * np.outer(np.arange(w), np.arange(w)) / w)
    return np.abs(fh @ x @ fw.T) ** 2


def test_high_frequency_energy_matches_a_hand_made_dft():
    rng = np.random.default_rng(0)
    image = rng.random((3, 12, 10))
    power = sum(_dft_power(c - c.mean()) for c in image)
    freq = lambda n: np.array([k / n if k < n / 2 else (k - n) / n for k in range(n)])
    radius = np.hypot(*np.meshgrid(freq(12), freq(10), indexing="ij"))
    expected = power[radius > 0.3].sum() / power.sum()
    got = measure.high_frequency_energy(torch.tensor(image, dtype=torch.float32).unsqueeze(0), cutoff=0.3)
    assert got == pytest.approx(expected, rel=1e-4)


def test_high_frequency_energy_of_two_gratings_is_their_power_share():
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    low, high = 0.3 * torch.cos(2 * math.pi * 3 / 32 * x), 0.1 * torch.cos(2 * math.pi * 12 / 32 * y)
    image = (0.5 + low + high).expand(1, 3, 32, 32)
    assert measure.high_frequency_energy(image, 0.25) == pytest.approx(0.1**2 / (0.1**2 + 0.3**2), rel=1e-4)
    assert measure.high_frequency_energy(0.5 + low.expand(1, 3, 32, 32)) < 1e-8
    with pytest.raises(sl.SettingsError, match="cutoff"):
        measure.high_frequency_energy(image, 0.8)


def test_psnr_and_noise():
    a = torch.full((1, 3, 8, 8), 0.5)
    assert measure.psnr(a, a + 0.1) == pytest.approx(20.0, rel=1e-4)
    noisy = measure.add_noise(torch.full((1, 3, 64, 64), 0.5), 0.1, seed=3)
    assert float((noisy - 0.5).std()) == pytest.approx(0.1, rel=0.05)
    assert torch.equal(noisy, measure.add_noise(torch.full((1, 3, 64, 64), 0.5), 0.1, seed=3))


def test_tv_denoise_removes_noise_from_a_flat_shape():
    clean = torch.zeros(1, 3, 32, 32)
    clean[..., 8:24, 8:24] = 0.8
    noisy = measure.add_noise(clean + 0.1, 0.1, seed=0)
    denoised = measure.tv_denoise(noisy, 0.05, steps=60).image
    assert measure.psnr(denoised, clean + 0.1) > measure.psnr(noisy, clean + 0.1) + 4  # at least 4 dB better
    untouched = measure.tv_denoise(noisy, 0.0, steps=10).image
    assert measure.psnr(untouched, noisy) > 50
    with pytest.raises(sl.SettingsError, match="unknown tv"):
        measure.tv_denoise(noisy, 0.1, tv="l3")
    with pytest.raises(sl.SettingsError, match="weight"):
        measure.tv_denoise(noisy, -1.0)


def test_new_figures_have_titles_and_axis_labels():
    figs = [
        plots.show_feature_maps(torch.rand(1, 6, 8, 8), "maps", columns=3),
        plots.show_heatmaps({"a": torch.rand(4, 4), "b": torch.rand(4, 4)}, "grams"),
        plots.plot_series({"x": [1, 2, 3], "y": [3, 2, 1]}, "curves", "weight", "energy", x=[0, 0.1, 1], logx=True),
    ]
    for fig in figs:
        assert fig._suptitle is not None or fig.axes[0].get_title()
        for ax in fig.axes:
            if ax.get_visible() and ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        matplotlib.pyplot.close(fig)


def test_neighbour_differences_match_a_loop():
    image = torch.rand(1, 2, 5, 6)
    dx, dy = measure.neighbour_differences(image)
    assert dx.shape == dy.shape == (1, 2, 4, 5) and dx.dtype == torch.float64
    for c in range(2):
        for i in range(4):
            for j in range(5):
                assert float(dx[0, c, i, j]) == pytest.approx(float(image[0, c, i, j + 1] - image[0, c, i, j]))
                assert float(dy[0, c, i, j]) == pytest.approx(float(image[0, c, i + 1, j] - image[0, c, i, j]))
    assert float((dx.abs() + dy.abs()).mean()) == pytest.approx(float(sl.tv_anisotropic(image)), rel=1e-5)


def test_box_mean_averages_the_neighbours_inside_the_image():
    image = torch.rand(1, 3, 6, 7, dtype=torch.float64)
    got = measure.box_mean(image, 3)
    for i in range(6):
        for j in range(7):
            window = image[0, :, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
            assert torch.allclose(got[0, :, i, j], window.mean(dim=(1, 2)))
    pooled = torch.nn.functional.avg_pool2d(image, 5, stride=1, padding=2, count_include_pad=False)
    assert torch.allclose(measure.box_mean(image, 5), pooled)
    assert torch.allclose(measure.box_mean(torch.full((1, 1, 4, 4), 0.7), 3), torch.full((1, 1, 4, 4), 0.7,
                                                                                          dtype=torch.float64))
    with pytest.raises(sl.SettingsError, match="odd"):
        measure.box_mean(image, 2)


def test_tutorial_grams_relate_to_ours_by_their_normalisation():
    f = torch.rand(1, 6, 5, 4, dtype=torch.float64)
    flat = f[0].reshape(6, -1)
    assert torch.allclose(measure.pytorch_tutorial_gram(f), flat @ flat.T / (6 * 20))
    assert torch.allclose(measure.tensorflow_tutorial_gram(f)[0], flat @ flat.T / 20)


@pytest.mark.parametrize("name", ["pytorch_tutorial", "tensorflow_tutorial"])
def test_tutorial_terms_agree_with_the_presets_conversion(name):
    """The presets were converted by hand (presets.py): with their numbers every term equals the tutorial's."""
    o = sl.preset(name).objective
    terms = measure.tutorial_terms(name, o.content_weight, o.style_weight, o.weights())
    assert [t for t, _, _ in terms] == ["content", *measure.TUTORIAL_LOSSES[name]["style_layers"]]
    for term, ours, theirs in terms:
        assert ours == pytest.approx(theirs, rel=1e-9), term
    doubled = measure.tutorial_terms(name, o.content_weight, 2 * o.style_weight, o.weights())
    assert all(ours == pytest.approx(2 * theirs) for term, ours, theirs in doubled if term != "content")
    with pytest.raises(sl.SettingsError, match="no weight"):
        measure.tutorial_terms(name, 1.0, 1.0, {})


@pytest.mark.parametrize("log", [False, True])
def test_shared_heatmaps_put_every_panel_on_one_colour_scale(log):
    """With shared=True the same value gets the same colour in every panel: every image's scale runs up to the
    largest entry of all the matrices (and, on the linear scale, down to the smallest)."""
    small, large = torch.rand(5, 5) + 0.1, 10 * torch.rand(5, 5) + 0.1
    fig = plots.show_heatmaps({"small": small, "large": large}, "grams", log=log, shared=True)
    images = [ax.images[0] for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    top, low = float(torch.maximum(small.max(), large.max())), float(torch.minimum(small.min(), large.min()))
    for image in images:
        assert image.norm.vmax == pytest.approx(top)
        assert image.norm.vmin == pytest.approx(top * 1e-4 if log else low)
    assert images[0].cmap(images[0].norm(0.5)) == images[1].cmap(images[1].norm(0.5))
    separate = plots.show_heatmaps({"small": small, "large": large}, "grams", log=log)
    vmaxes = [ax.images[0].norm.vmax for ax in separate.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert vmaxes == pytest.approx([float(small.max()), float(large.max())])
    matplotlib.pyplot.close(fig)
    matplotlib.pyplot.close(separate)


def test_lbfgs_trace_records_the_steps_of_a_quadratic():
    """On f(x) = ½ Σ d_i x_i², y = D s exactly: the curvature of each step is sᵀDs, and torch's first
    step is −min(1, 1/‖g‖₁)·g, so its length and the second loss follow from the start alone."""
    d = torch.linspace(0.5, 4.0, 12, dtype=torch.float64).reshape(1, 3, 2, 2)
    start = torch.linspace(-1.0, 2.0, 12, dtype=torch.float64).reshape(1, 3, 2, 2)
    f = lambda x: 0.5 * (d * x * x).sum()  # noqa: E731
    trace = measure.lbfgs_trace(f, start, steps=4)
    g = d * start
    first = -min(1.0, 1.0 / float(g.abs().sum())) * g
    assert len(trace.losses) == len(trace.mean_abs_grads) == 4 and len(trace.lengths) == len(trace.curvatures) == 3
    assert trace.losses[0] == pytest.approx(float(f(start)))
    assert trace.mean_abs_grads[0] == pytest.approx(float(g.abs().mean()))
    assert trace.lengths[0] == pytest.approx(float(first.norm()))
    assert trace.curvatures[0] == pytest.approx(float((first * d * first).sum()))
    assert trace.losses[1] == pytest.approx(float(f(start + first)))
    assert trace.kept(0) and trace.first_kept() == 0
    # a concave objective: every sᵀy < 0, so PyTorch keeps no pair
    concave = measure.lbfgs_trace(lambda x: -(x * x).sum(), start, steps=3)
    assert all(c < 0 for c in concave.curvatures) and concave.first_kept() is None
