"""The objective, written once: scale-free defaults, one-line errors, and the same terms everywhere."""
import pytest
import torch

import stylelib as sl
from stylelib import losses


class Scaled(sl.VGGFeatures):
    """The same network with every feature map multiplied by `scale` (as another input convention would)."""

    def __init__(self, model, scale):
        super().__init__(model.arch, model.normalize.convention, model.pooling)
        self.load_state_dict(model.state_dict())
        self.scale = scale

    def forward(self, image, layers):
        return {name: self.scale * value for name, value in super().forward(image, layers).items()}


def test_default_weights_do_not_depend_on_the_feature_scale(model):
    """Issue 10: features × 50 give the same stylization with the default weights (the raw terms did not)."""
    pair = sl.content("cat", 64), sl.style("starry_night", 64)
    big = Scaled(model, 50.0)
    plain_loss = sl.Objective().loss(model, pair[0], [pair[1]])

    def run(objective, network):
        with sl.precision.options(bf16=False):  # exact arithmetic: bf16 rounding would differ between the scales
            image = sl.stylize(*pair, objective, size=64, steps=20, model=network, progress=False).image
        return image, float(plain_loss(image)["content"])

    (a, content_a), (b, content_b) = run(sl.Objective(), model), run(sl.Objective(), big)
    assert (a - b).abs().mean() < 0.005
    assert content_b == pytest.approx(content_a, rel=0.10)
    # the paper's raw terms with one fixed β are not scale-free: the same comparison fails by far
    raw = sl.Objective(scale_free=False, style_weight=1e-2)
    (c, content_c), (d, content_d) = run(raw, model), run(raw, big)
    print(f"scale-free: pixels {float((a - b).abs().mean()):.2e}, content {content_a:.4g} vs {content_b:.4g}; "
          f"raw: pixels {float((c - d).abs().mean()):.2e}, content {content_c:.4g} vs {content_d:.4g}")
    assert (c - d).abs().mean() > 0.005 and abs(content_d / content_c - 1) > 0.3


def test_scale_free_terms_against_a_direct_computation():
    f, p = torch.rand(2, 5, 6, 7, dtype=torch.float64), torch.rand(1, 5, 6, 7, dtype=torch.float64)
    expected = torch.stack([((f[i] - p[0]) ** 2).mean() / (p[0] ** 2).mean() for i in range(2)])
    assert torch.allclose(losses.content_loss(f, p, scale_free=True, per_image=True), expected)
    a = sl.gram_matrix(p)
    by_hand = torch.stack([((fi.reshape(5, -1) @ fi.reshape(5, -1).T / 42 - a[0]) ** 2).mean() / (a ** 2).mean()
                           for fi in f])
    assert torch.allclose(losses.style_layer_loss(f, a, scale_free=True, per_image=True), by_hand)
    assert torch.allclose(losses.style_layer_loss(f, a, scale_free=True), by_hand.mean())
    # multiplying every feature by s changes no scale-free term, and the raw ones by s² and s⁴
    s = 7.0
    assert torch.allclose(losses.content_loss(s * f, s * p, scale_free=True), losses.content_loss(f, p, scale_free=True))
    assert torch.allclose(losses.style_layer_loss(s * f, sl.gram_matrix(s * p), scale_free=True),
                          losses.style_layer_loss(f, a, scale_free=True))
    assert torch.allclose(losses.content_loss(s * f, s * p), s**2 * losses.content_loss(f, p))
    assert torch.allclose(losses.style_layer_loss(s * f, sl.gram_matrix(s * p)), s**4 * losses.style_layer_loss(f, a))


def test_loss_terms_are_the_formulas_of_the_objective(model):
    photo, painting = sl.content("cat", 48), sl.style("starry_night", 48)
    objective = sl.Objective(content_weight=2.0, style_weight=5.0, tv_weight=0.5,
                             layer_weights={"relu1_1": 0.25, "relu3_1": 0.75}, style_layers=("relu1_1", "relu3_1"))
    x = torch.rand_like(photo) * 1.2 - 0.1
    terms = objective.loss(model, photo, [painting])(x)
    f, p = model(x, ["relu4_2", "relu1_1", "relu3_1"]), model(photo, ["relu4_2"])["relu4_2"]
    a = {k: sl.gram_matrix(v) for k, v in model(painting, ["relu1_1", "relu3_1"]).items()}
    rel = lambda g, t: ((g - t) ** 2).mean() / (t ** 2).mean()  # noqa: E731
    assert float(terms["content"]) == pytest.approx(float(2.0 * ((f["relu4_2"] - p) ** 2).mean() / (p ** 2).mean()), rel=1e-5)
    expected_style = 5.0 * (0.25 * rel(sl.gram_matrix(f["relu1_1"]), a["relu1_1"])
                            + 0.75 * rel(sl.gram_matrix(f["relu3_1"]), a["relu3_1"]))
    assert float(terms["style"]) == pytest.approx(float(expected_style), rel=1e-5)
    assert float(terms["tv"]) == pytest.approx(float(0.5 * sl.tv_isotropic(x)), rel=1e-6)
    assert float(terms["range"]) == pytest.approx(1e4 * float(((x - x.clamp(0, 1)) ** 2).mean()), rel=1e-6)


@pytest.mark.parametrize("changes, message", [
    ({"layer_weights": {"relu2_2": 1.0}}, "not among the style layers"),
    ({"style_layers": []}, "style_layers is empty"),
    ({"content_layers": ()}, "content_layers is empty"),
    ({"style_weight": -1.0}, "style_weight"),
    ({"tv": "cubic"}, "TV variant"),
    ({"colour": 1}, "unknown objective setting"),
])
def test_bad_objectives_are_one_line_settings_errors(changes, message):
    with pytest.raises(sl.SettingsError, match=message) as error:
        sl.Objective().replace(**changes)
    assert "\n" not in str(error.value)


def test_stylize_refuses_an_unknown_keyword_and_lists_the_valid_ones(model):
    with pytest.raises(sl.SettingsError, match="valid are content_layers.*optimizer"):
        sl.stylize("cat", "starry_night", size=32, steps=1, model=model, styel_weight=1.0)


def test_stylize_keeps_a_short_signature():
    import inspect
    assert len(inspect.signature(sl.stylize).parameters) <= 12
