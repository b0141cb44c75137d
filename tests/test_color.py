"""Colour preservation: YIQ conversion, luminance-only transfer, colour matching."""
import pytest
import torch

import stylelib as sl
from stylelib import color


def test_yiq_round_trip_and_grey_has_no_chroma():
    x = torch.rand(2, 3, 5, 7)
    assert torch.allclose(color.yiq_to_rgb(color.rgb_to_yiq(x)), x, atol=1e-5)
    grey = torch.rand(1, 1, 4, 4).repeat(1, 3, 1, 1)
    yiq = color.rgb_to_yiq(grey)
    assert torch.allclose(yiq[:, 0], grey[:, 0], atol=1e-6)  # Y of a grey pixel is its value
    assert yiq[:, 1:].abs().max() < 1e-5


def test_luminance_transfer_keeps_the_content_chroma(model):
    content = sl.content("golden_gate_fog", 48)
    result = color.luminance_transfer(content, "starry_night", size=48, steps=5, model=model, progress=False)
    yiq_out, yiq_in = color.rgb_to_yiq(result.image), color.rgb_to_yiq(content)
    inside = ((result.image > 1e-4) & (result.image < 1 - 1e-4)).all(1)[0]  # pixels not clipped to the cube
    assert inside.float().mean() > 0.8
    chroma_error = (yiq_out[:, 1:] - yiq_in[:, 1:]).abs().amax(1)[0]
    assert chroma_error[inside].max() < 1e-4
    assert (yiq_out[:, 0] - yiq_in[:, 0]).abs().mean() > 1e-3  # while the luminance did change
    plain = sl.stylize(content, "starry_night", size=48, steps=5, model=model, progress=False)
    plain_error = (color.rgb_to_yiq(plain.image)[:, 1:] - yiq_in[:, 1:]).abs().mean()
    assert plain_error > 10 * chroma_error[inside].mean()  # the ordinary transfer does move colours


def test_covariance_matching_gives_the_reference_mean_and_covariance():
    g = torch.Generator().manual_seed(1)
    mix = torch.tensor([[1.0, 0.5, 0.0], [0.2, 1.0, 0.3], [0.0, 0.4, 1.0]])
    image = (0.5 + 0.05 * torch.einsum("ij,bjhw->bihw", mix, torch.randn(1, 3, 40, 50, generator=g)))
    reference = 0.4 + 0.06 * torch.randn(1, 3, 30, 30, generator=g) + torch.tensor([0.1, 0.0, -0.1]).view(1, 3, 1, 1)
    out = color.match_colors(image, reference, "covariance")
    flat_out, flat_ref = out[0].reshape(3, -1).double(), reference[0].reshape(3, -1).double()
    assert torch.allclose(flat_out.mean(1), flat_ref.mean(1), atol=1e-5)
    assert torch.allclose(torch.cov(flat_out), torch.cov(flat_ref), atol=1e-5)


def test_histogram_matching_copies_each_channel_distribution():
    g = torch.Generator().manual_seed(2)
    image, reference = torch.rand(1, 3, 10, 12, generator=g), torch.rand(1, 3, 12, 10, generator=g) ** 2
    out = color.match_colors(image, reference, "histogram")
    for c in range(3):  # same number of pixels: the sorted values must be exactly the reference's
        assert torch.allclose(out[0, c].flatten().sort().values, reference[0, c].flatten().sort().values, atol=1e-6)
        # and the order of the pixels is the image's own (ranks preserved)
        assert torch.equal(out[0, c].flatten().argsort(), image[0, c].flatten().argsort())


def test_unknown_matching_method_is_a_settings_error():
    with pytest.raises(sl.SettingsError, match="covariance"):
        color.match_colors(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), "lab")


def test_chroma_shift_measures_colour_change_only():
    x = torch.rand(1, 3, 6, 6)
    assert color.chroma_shift(x, x) == 0
    grey = x.mean(1, keepdim=True).repeat(1, 3, 1, 1)
    brighter = (x + 0.1)  # adding the same amount to R, G, B changes Y only (I and Q rows sum to 0)
    assert color.chroma_shift(brighter, x) < 1e-5
    iq = color.rgb_to_yiq(x)[:, 1:]
    assert color.chroma_shift(grey, x) == pytest.approx(float(iq.abs().sum(1).mean()), rel=1e-4)
