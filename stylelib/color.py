r"""Colour preservation (Gatys et al., 2017, "Controlling perceptual factors"): keep the photo's colours.

Two ways:

* **Luminance-only transfer**: split both images into luminance $Y$ and chroma $I, Q$ (YIQ),
  stylise the luminance alone, then put the content's own $I, Q$ back. The style only moves
  brightness, so the content's colours stay exactly (up to clipping to the RGB cube).
* **Colour matching**: recolour the *style* image so its colour statistics equal the content's
  before the ordinary transfer: either the mean and covariance of the RGB pixels
  ($x' = A(x-\mu_s)+\mu_c$ with $A\Sigma_sA^\top=\Sigma_c$) or each channel's whole histogram.
"""
import torch

from . import runtime
from .errors import SettingsError
from .images import as_image
from .transfer import stylize

__all__ = ["rgb_to_yiq", "yiq_to_rgb", "luminance", "luminance_transfer", "chroma_shift", "match_colors",
           "MATCH_METHODS"]

# NTSC YIQ: Y is luminance, I and Q are the two chroma axes. The inverse is computed, not typed.
RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                           [0.595716, -0.274453, -0.321263],
                           [0.211456, -0.522591, 0.311135]])
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ.double()).float()
MATCH_METHODS = ("covariance", "histogram")


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(image), image)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB → YIQ (channel 0 = luminance Y, channels 1–2 = chroma I, Q)."""
    return _apply(RGB_TO_YIQ, image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_yiq` (not clamped: a new Y with old I, Q can leave the RGB cube)."""
    return _apply(YIQ_TO_RGB, image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """Y of an RGB image repeated on three channels: a grey picture the RGB network can read."""
    return rgb_to_yiq(image)[:, :1].repeat(1, 3, 1, 1)


def luminance_transfer(content, style, size: int | None = None, style_scale: float = 1.0, **settings):
    """Stylise the luminance only and keep the content's chroma: returns `stylize`'s Result,
    with `image` recombined in colour. The style's luminance is first shifted and scaled to
    the content's mean and standard deviation so that only texture, not brightness, transfers."""
    size = runtime.default("size", size)
    content = as_image(content, size)
    style = as_image(style, round(size * style_scale))
    y_content, y_style = rgb_to_yiq(content)[:, :1], rgb_to_yiq(style)[:, :1]
    y_style = (y_style - y_style.mean()) / y_style.std().clamp_min(1e-6) * y_content.std() + y_content.mean()
    result = stylize(content=y_content.repeat(1, 3, 1, 1), style=y_style.clamp(0, 1).repeat(1, 3, 1, 1),
                     size=size, style_scale=style_scale, **settings)
    y_new = rgb_to_yiq(result.image.to(content))[:, :1]
    result.image = yiq_to_rgb(torch.cat([y_new, rgb_to_yiq(content)[:, 1:]], 1)).clamp(0, 1)
    return result


def chroma_shift(image: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean |ΔI| + |ΔQ| between two RGB images of one size: how far the colours moved (0 = same)."""
    difference = rgb_to_yiq(image.float()) - rgb_to_yiq(reference.float())
    return float(difference[:, 1:].abs().sum(1).mean())


def _sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Symmetric (inverse) square root of a covariance matrix via its eigen-decomposition."""
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(1e-8).pow(-0.5 if inverse else 0.5)
    return vectors @ torch.diag(values) @ vectors.T


def match_colors(image, reference, method: str = "covariance") -> torch.Tensor:
    """`image` recoloured so its RGB statistics match `reference`'s.

    "covariance": an affine map giving the same mean and covariance, $A = \\Sigma_r^{1/2}\\Sigma_i^{-1/2}$
    (the symmetric choice, which rotates colours least). "histogram": every channel's values are
    replaced by the reference's values of the same rank (exact per-channel histogram matching).
    """
    if method not in MATCH_METHODS:
        raise SettingsError(f"unknown colour matching {method!r}: choose one of {', '.join(MATCH_METHODS)}")
    image, reference = as_image(image, None).double(), as_image(reference, None).double()
    x, r = image[0].reshape(3, -1), reference[0].reshape(3, -1)
    if method == "covariance":
        mu_x, mu_r = x.mean(1, keepdim=True), r.mean(1, keepdim=True)
        a = _sqrtm(torch.cov(r)) @ _sqrtm(torch.cov(x), inverse=True)
        out = a @ (x - mu_x) + mu_r
    else:
        ranks = x.argsort(1).argsort(1)  # rank of each pixel within its channel
        quantiles = torch.sort(r, 1).values
        positions = ranks.double() * (r.shape[1] - 1) / max(x.shape[1] - 1, 1)
        low = positions.floor().long()
        high = (low + 1).clamp_max(r.shape[1] - 1)
        frac = positions - low
        out = quantiles.gather(1, low) * (1 - frac) + quantiles.gather(1, high) * frac
    return out.reshape(image.shape).float().clamp(0, 1)
