"""Losses against independent computations: explicit loops, finite differences, hand-made tensors."""
import pytest
import torch

from stylelib import losses


def test_gram_matrix_matches_explicit_loop():
    features = torch.randn(2, 4, 3, 5, dtype=torch.float64)
    gram = losses.gram_matrix(features)
    b, n, h, w = features.shape
    for k in range(b):
        for i in range(n):
            for j in range(n):
                expected = sum(features[k, i, y, x] * features[k, j, y, x] for y in range(h) for x in range(w)) / (h * w)
                assert gram[k, i, j].item() == pytest.approx(expected.item(), rel=1e-12)


def test_gram_matrix_does_not_grow_with_image_size():
    tile = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    tiled = tile.repeat(1, 1, 5, 5)  # the same statistics over 25x the positions
    assert torch.allclose(losses.gram_matrix(tile), losses.gram_matrix(tiled))


def test_gram_matrix_is_symmetric_positive_semidefinite():
    gram = losses.gram_matrix(torch.randn(1, 6, 7, 7, dtype=torch.float64))[0]
    assert torch.allclose(gram, gram.T)
    assert torch.linalg.eigvalsh(gram).min() > -1e-12


def _f64(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("name, fn", [
    ("gram", lambda x: losses.gram_matrix(x)),
    ("content", lambda x: losses.content_loss(x, torch.ones_like(x))),
    ("style_layer", lambda x: losses.style_layer_loss(x, torch.eye(3, dtype=torch.float64))),
    ("style", lambda x: losses.style_loss({"a": x, "b": x * 2}, {"a": torch.eye(3, dtype=torch.float64),
                                                             "b": torch.ones(3, 3, dtype=torch.float64)},
                                          {"a": 0.3, "b": 0.7})),
    ("tv_anisotropic", losses.tv_anisotropic),
    ("tv_isotropic", losses.tv_isotropic),
    ("tv_squared", losses.tv_squared),
    ("range", lambda x: losses.range_penalty(x * 2)),
])
def test_gradients_match_finite_differences(name, fn):
    x = _f64(1, 3, 5, 6)
    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-6)


def test_style_loss_default_weights_are_equal():
    feats = {"a": torch.randn(1, 3, 4, 4), "b": torch.randn(1, 3, 4, 4)}
    targets = {"a": torch.eye(3), "b": torch.zeros(3, 3)}
    expected = 0.5 * losses.style_layer_loss(feats["a"], targets["a"]) + 0.5 * losses.style_layer_loss(feats["b"], targets["b"])
    assert losses.style_loss(feats, targets).item() == pytest.approx(expected.item())



def test_style_layer_loss_is_four_times_the_papers_E_l():
    """ℓ_l = 4E_l, with E_l = Σ_ij (Σ_k F_ik F_jk − Σ_k S_ik S_jk)² / (4N²M²) of Gatys et al., written out in loops."""
    f, s = torch.rand(1, 3, 4, 5, dtype=torch.float64), torch.rand(1, 3, 4, 5, dtype=torch.float64)
    n, m = 3, 20
    F, S = f[0].reshape(n, m), s[0].reshape(n, m)
    E = sum((sum(F[i, k] * F[j, k] - S[i, k] * S[j, k] for k in range(m))) ** 2
            for i in range(n) for j in range(n)) / (4 * n**2 * m**2)
    ell = losses.style_layer_loss(f, losses.gram_matrix(s))
    assert ell.item() == pytest.approx(4 * E.item(), rel=1e-12)


def test_scale_free_content_term_is_the_relative_squared_error():
    """Mahendran & Vedaldi's inversion loss ‖Φ(x) − Φ₀‖² / ‖Φ₀‖²."""
    x, p = torch.rand(1, 4, 3, 5, dtype=torch.float64), torch.rand(1, 4, 3, 5, dtype=torch.float64)
    expected = ((x - p).norm() ** 2 / p.norm() ** 2).item()
    assert losses.content_loss(x, p, scale_free=True).item() == pytest.approx(expected, rel=1e-12)


# A 1-channel 3x3 image you can read: one bright pixel in the middle of a dark square.
SPOT = torch.tensor([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]).view(1, 1, 3, 3)


def test_tv_values_on_a_single_bright_pixel():
    # corners (0,0),(0,1),(1,0),(1,1): dx = x[y, x+1]-x[y, x] -> [[0, 0], [1, -1]]
    #                                  dy = x[y+1, x]-x[y, x] -> [[0, 1], [0, -1]]
    assert losses.tv_anisotropic(SPOT).item() == pytest.approx((0 + 0 + 1 + 1 + 0 + 1 + 0 + 1) / 4)
    assert losses.tv_squared(SPOT).item() == pytest.approx(4 / 4)
    # isotropic: sqrt(dx²+dy²) per corner = [0, 1, 1, sqrt(2)]
    assert losses.tv_isotropic(SPOT).item() == pytest.approx((0 + 1 + 1 + 2 ** 0.5) / 4, abs=1e-4)


def test_tv_of_a_constant_image_is_zero_and_of_a_ramp_is_its_slope():
    assert losses.tv_anisotropic(torch.full((1, 3, 8, 8), 0.7)).item() == 0
    ramp = torch.arange(8.0).view(1, 1, 1, 8).expand(1, 1, 8, 8) * 0.1  # +0.1 per column
    assert losses.tv_anisotropic(ramp).item() == pytest.approx(0.1)
    assert losses.tv_squared(ramp).item() == pytest.approx(0.01)


@pytest.mark.parametrize("masked", [False, True])
def test_gram_gradient_equals_autograd_of_the_plain_product(masked):
    """gram_matrix's one-product backward ((Ḡ + Ḡᵀ) F) against autograd through F @ Fᵀ, in float64."""
    g = torch.Generator().manual_seed(3)
    features = torch.randn(2, 6, 5, 7, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 6, 6, generator=g, dtype=torch.float64)
    mask = torch.rand(5, 7, generator=g, dtype=torch.float64) if masked else torch.ones(5, 7, dtype=torch.float64)
    ours, = torch.autograd.grad((losses.masked_gram_matrix(features, mask) if masked
                                 else losses.gram_matrix(features) - target).pow(2).sum(), features)
    flat = (features * mask).reshape(2, 6, 35)
    plain = flat @ flat.transpose(1, 2) / mask.pow(2).sum()
    reference, = torch.autograd.grad((plain if masked else plain - target).pow(2).sum(), features)
    assert torch.allclose(ours, reference, rtol=1e-12, atol=1e-14)


def test_bf16_features_give_an_fp32_gram_and_a_bf16_gradient():
    """The bf16 network's features (stylelib.precision): the Gram matrix is the fp32 one of the same values,
    exactly, and only the gradient's product runs in bf16, within bf16 rounding of the fp32 gradient."""
    g = torch.Generator().manual_seed(4)
    half = torch.rand(1, 16, 24, 24, generator=g).to(torch.bfloat16).requires_grad_(True)
    full = half.detach().float().requires_grad_(True)
    target = torch.rand(1, 16, 16, generator=g)
    grams = [losses.gram_matrix(f) for f in (half, full)]
    assert grams[0].dtype == torch.float32 and torch.equal(grams[0], grams[1])
    grads = [torch.autograd.grad((gram - target).pow(2).sum(), f)[0] for gram, f in zip(grams, (half, full))]
    assert grads[0].dtype == torch.bfloat16
    assert (grads[0].float() - grads[1]).norm() <= 2**-7 * grads[1].norm()
    assert losses.content_loss(half, full.detach() + 1).dtype == torch.float32
