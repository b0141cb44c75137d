"""The style statistics beyond the Gram matrix and the feature transforms (issue 24), against independent
computations: numpy's statistics, scipy's matrix square root, pairings found by brute force, finite differences."""
import itertools

import numpy as np
import pytest
import scipy.linalg
import torch

import stylelib as sl
from stylelib import statistics, transforms
from stylelib.statistics import STATISTICS


def _features(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_channel_mean_std_against_numpy():
    f = _features(2, 5, 4, 6) * 3 + 1
    mean, std = statistics.channel_mean_std(f)
    flat = f.flatten(2).numpy()
    np.testing.assert_allclose(mean.numpy(), flat.mean(-1), rtol=1e-12)
    np.testing.assert_allclose(std.numpy(), np.sqrt(flat.var(-1) + statistics.STD_EPS), rtol=1e-12)  # population


def test_channel_mean_cov_against_numpy_and_masks_weight_the_positions():
    f = _features(1, 4, 5, 6, seed=1)
    mean, cov = statistics.channel_mean_cov(f)
    flat = f[0].flatten(1).numpy()
    np.testing.assert_allclose(cov[0].numpy(), np.cov(flat, bias=True), rtol=1e-10)
    mask = torch.zeros(5, 6, dtype=torch.float64)
    mask[:, :2] = 1  # the left 10 positions only
    inside = f[0, :, :, :2].flatten(1).numpy()
    mean, cov = statistics.channel_mean_cov(f, mask)
    np.testing.assert_allclose(mean[0].numpy(), inside.mean(1), rtol=1e-10)
    np.testing.assert_allclose(cov[0].numpy(), np.cov(inside, bias=True), rtol=1e-10)
    _, std = statistics.channel_mean_std(f, mask)
    np.testing.assert_allclose(std[0].numpy() ** 2, inside.var(1) + statistics.STD_EPS, rtol=1e-10)


def _w2_by_scipy(f, s):
    """W2² between the Gaussians fitted to two (N, M) samples, with scipy's sqrtm (Schur method, no eigh)."""
    mu_f, mu_s, cov_f, cov_s = f.mean(1), s.mean(1), np.cov(f, bias=True), np.cov(s, bias=True)
    root = scipy.linalg.sqrtm(cov_s)
    cross = scipy.linalg.sqrtm(root @ cov_f @ root)
    return float(((mu_f - mu_s) ** 2).sum() + np.trace(cov_f) + np.trace(cov_s) - 2 * np.trace(cross).real)


def test_gaussian_w2_against_scipy_sqrtm():
    f, s = _features(1, 6, 5, 8, seed=2), _features(1, 6, 7, 7, seed=3) * 2 + 0.5  # M = 40 and 49 positions
    ours = STATISTICS["mean_cov"].loss(f, STATISTICS["mean_cov"].target(s))  # raw: W2² / N
    expected = _w2_by_scipy(f[0].flatten(1).numpy(), s[0].flatten(1).numpy()) / 6
    assert float(ours) == pytest.approx(expected, rel=1e-9)
    assert float(STATISTICS["mean_cov"].loss(s, STATISTICS["mean_cov"].target(s))) == pytest.approx(0, abs=1e-9)


def test_mean_std_distance_is_w2_between_diagonal_gaussians():
    """With the off-diagonal covariances removed, the mean_cov distance is the mean_std one (same formula, two routes)."""
    f, s = _features(1, 5, 4, 4, seed=4), _features(1, 5, 6, 3, seed=5) + 1
    flat_f, flat_s = f[0].flatten(1).numpy(), s[0].flatten(1).numpy()
    diag = ((flat_f.mean(1) - flat_s.mean(1)) ** 2 + (np.sqrt(flat_f.var(1) + statistics.STD_EPS)
                                                       - np.sqrt(flat_s.var(1) + statistics.STD_EPS)) ** 2).mean()
    assert float(STATISTICS["mean_std"].loss(f, STATISTICS["mean_std"].target(s))) == pytest.approx(diag, rel=1e-10)


def test_sqrtm_psd_squares_back_and_matches_scipy():
    a = _features(7, 4)
    cov = a @ a.T  # rank 4 of 7: three zero eigenvalues
    root = statistics.sqrtm_psd(cov)
    assert torch.allclose(root @ root, cov, atol=1e-10)
    np.testing.assert_allclose(root.numpy(), scipy.linalg.sqrtm(cov.numpy() + 1e-30 * np.eye(7)).real, atol=1e-6)


def test_1d_wasserstein_by_sorting_is_the_best_pairing_found_by_brute_force():
    """Sorting both lists pairs them optimally: no permutation of 6 points gives a smaller mean squared gap."""
    g = torch.Generator().manual_seed(6)
    a, b = torch.rand(6, generator=g, dtype=torch.float64), torch.rand(6, generator=g, dtype=torch.float64) * 3
    best = min(float(((a - b[list(p)]) ** 2).mean()) for p in itertools.permutations(range(6)))
    ours = statistics.wasserstein_1d(a.sort().values.view(1, 1, 6), b.sort().values.view(1, 1, 6))
    assert float(ours) == pytest.approx(best, rel=1e-12)


def test_1d_wasserstein_resamples_a_target_of_another_length():
    """A list and the same list with every value twice describe the same distribution: distance 0."""
    a = torch.linspace(0, 1, 50, dtype=torch.float64).view(1, 1, 50)
    doubled = a.repeat_interleave(2, dim=-1)
    assert float(statistics.wasserstein_1d(a, doubled)) == pytest.approx(0, abs=1e-3)
    assert float(statistics.wasserstein_1d(a, doubled + 0.5)) == pytest.approx(0.25, rel=1e-3)


def test_sliced_distance_against_scipy_wasserstein_per_direction():
    """The sliced term is the mean over its directions of the squared 1-D W2 of the projections; scipy's
    wasserstein_distance gives W1, so the check uses a shift, where W1 = W2 = the shift."""
    f = _features(1, 4, 6, 6, seed=7)
    shifted = f + torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64).view(1, 4, 1, 1)
    target = STATISTICS["sliced"].target(shifted)
    directions = target[0].double()
    shifts = directions @ torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    for u, shift in zip(directions, shifts):
        p, q = (u @ f[0].flatten(1)).numpy(), (u @ shifted[0].flatten(1)).numpy()
        assert scipy.stats.wasserstein_distance(p, q) == pytest.approx(abs(float(shift)), rel=1e-9)
    assert float(STATISTICS["sliced"].loss(f, target)) == pytest.approx(float(shifts.pow(2).mean()), rel=1e-9)


def test_random_directions_are_seeded_unit_vectors():
    d = statistics.random_directions(8, 5, seed=3)
    assert d.shape == (5, 8) and torch.allclose(d.norm(dim=1), torch.ones(5))
    assert torch.equal(d, statistics.random_directions(8, 5, seed=3))
    assert not torch.equal(d, statistics.random_directions(8, 5, seed=4))


@pytest.mark.parametrize("name", list(STATISTICS))
def test_gradients_match_finite_differences(name):
    stat = STATISTICS[name]
    target = stat.target(_features(1, 3, 4, 5, seed=8) * 2 + 1)
    x = _features(2, 3, 4, 4, seed=9).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: stat.loss(f, target, scale_free=True), (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", list(STATISTICS))
def test_scale_free_distances_do_not_change_with_the_feature_scale(name):
    """Features × 7 and the target × 7 give the same scale-free term; all-zero features (of the target's size, so that
    the sliced term resamples nothing) give 1."""
    stat = STATISTICS[name]
    f, s = _features(1, 4, 5, 5, seed=10).relu(), _features(1, 4, 6, 6, seed=11).relu()
    same = stat.loss(f, stat.target(s), scale_free=True), stat.loss(7 * f, stat.target(7 * s), scale_free=True)
    assert float(same[0]) == pytest.approx(float(same[1]), rel=1e-6)
    assert float(stat.loss(torch.zeros_like(s), stat.target(s), scale_free=True)) == pytest.approx(1, abs=1e-3)


def test_adain_gives_the_style_channel_means_and_stds():
    c, s = _features(1, 6, 8, 8, seed=12), _features(1, 6, 5, 7, seed=13) * 4 - 2
    out = transforms.adain(c, s)
    flat, target = out[0].flatten(1).numpy(), s[0].flatten(1).numpy()
    np.testing.assert_allclose(flat.mean(1), target.mean(1), atol=1e-10)
    np.testing.assert_allclose(flat.std(1), target.std(1), rtol=1e-6)
    # and nothing else changed: each channel is an increasing affine map of the photo's (same order of positions)
    assert torch.equal(out[0].flatten(1).argsort(-1), c[0].flatten(1).argsort(-1))


def test_wct_gives_the_style_mean_and_covariance():
    c, s = _features(1, 5, 8, 8, seed=14), _features(1, 5, 6, 6, seed=15)
    s = torch.einsum("ij,bjhw->bihw", _features(5, 5, seed=16), s) + 3  # correlated channels
    out = transforms.wct(c, s)
    flat, target = out[0].flatten(1).numpy(), s[0].flatten(1).numpy()
    np.testing.assert_allclose(flat.mean(1), target.mean(1), atol=1e-10)
    np.testing.assert_allclose(np.cov(flat, bias=True), np.cov(target, bias=True), atol=1e-9)


# --- in the objective ---------------------------------------------------------------------------------------------

def test_gram_is_the_default_and_gives_the_papers_terms(model):
    """The default statistic is the Gram matrix: the style term equals losses.style_loss on Gram targets, exactly."""
    photo, painting = sl.content("cat", 48), sl.style("starry_night", 48)
    assert sl.Objective().style_statistic == "gram"
    x = torch.rand_like(photo)
    terms = sl.Objective().loss(model, photo, [painting])(x)
    targets = {k: sl.gram_matrix(v) for k, v in model(painting, sl.STYLE_LAYERS).items()}
    expected = sl.Objective().style_weight * sl.style_loss(model(x, sl.STYLE_LAYERS), targets, scale_free=True)
    assert torch.equal(terms["style"], expected)


@pytest.mark.parametrize("name", list(STATISTICS))
def test_texture_synthesis_works_with_every_statistic(model, name):
    """stylize without content, from noise: the style term falls, and the result moves toward the source."""
    result = sl.synthesize_texture("brick", size=48, steps=15, model=model, progress=False, style_statistic=name)
    assert result.stopped is None and result.history["style"][-1] < 0.5 * result.history["style"][0]


def test_stylize_with_two_styles_and_a_mask_per_statistic(model):
    h = w = 48
    left = torch.zeros(h, w)
    left[:, : w // 2] = 1
    for name in ("mean_std", "mean_cov"):
        result = sl.stylize("cat", ["starry_night", "the_scream"], size=48, steps=3, model=model, progress=False,
                            style_statistic=name, style_masks=[left, 1 - left])
        assert result.stopped is None
    result = sl.stylize("cat", ["starry_night", "the_scream"], size=48, steps=3, model=model, progress=False,
                        style_statistic="sliced", style_blend=[0.3, 0.7])
    assert result.stopped is None


def test_mean_std_statistic_in_the_objective_is_the_direct_formula(model):
    photo, painting = sl.content("cat", 48), sl.style("starry_night", 48)
    x = torch.rand_like(photo)
    layers = ("relu1_1", "relu3_1")
    terms = sl.Objective(style_statistic="mean_std", style_layers=layers).loss(model, photo, [painting])(x)
    mine, theirs = model(x, layers), model(painting, layers)
    expected = 0
    for layer in layers:
        f, s = mine[layer][0].flatten(1), theirs[layer][0].flatten(1)
        gap = (f.mean(1) - s.mean(1)) ** 2 + (f.std(1, unbiased=False) - s.std(1, unbiased=False)) ** 2
        expected += 0.5 * gap.mean() / (s.mean(1) ** 2 + s.var(1, unbiased=False)).mean()
    assert float(terms["style"]) == pytest.approx(float(sl.Objective().style_weight * expected), rel=1e-4)


@pytest.mark.parametrize("changes, message", [
    ({"style_statistic": "histogram"},
     "unknown style statistic 'histogram': choose one of gram, mean_std, mean_cov, sliced"),
    ({"style_statistic": "sliced", "style_masks": [torch.ones(4, 4)]}, "'sliced' cannot take style_masks"),
])
def test_bad_statistics_are_one_line_settings_errors(changes, message):
    with pytest.raises(sl.SettingsError, match=message) as error:
        sl.Objective().replace(**changes)
    assert "\n" not in str(error.value)


def test_invert_finds_an_image_with_the_given_features(model):
    """Features of a known image are matched from a grey start: the content term falls far."""
    photo = sl.content("cat", 48)
    with torch.no_grad():
        target = model(photo, ["relu2_1"])
    result = transforms.invert(target, torch.full_like(photo, 0.5), model, steps=20, progress=False)
    assert result.history["content"][-1] < 0.2 * result.history["content"][0]


def test_scores_are_zero_on_the_source_and_use_held_out_directions():
    source = {"a": _features(1, 4, 5, 5, seed=17).relu(), "b": _features(1, 6, 3, 3, seed=18).relu()}
    other = {name: f.roll(1, dims=1) for name, f in source.items()}  # channels swapped: a change seen per direction
    assert all(value == pytest.approx(0, abs=1e-6) for value in statistics.scores(source, source).values())
    found = statistics.scores(other, source)
    for name, stat in STATISTICS.items():
        if name != "sliced":
            expected = sum(float(stat.loss(other[k], stat.target(source[k]), scale_free=True)) for k in source) / 2
            assert found[name] == pytest.approx(expected, rel=1e-12), name
    fitted = sum(float(STATISTICS["sliced"].loss(other[k], STATISTICS["sliced"].target(source[k]), scale_free=True))
                 for k in source) / 2
    assert found["sliced"] != pytest.approx(fitted, rel=1e-6)  # other directions than the optimisation's
