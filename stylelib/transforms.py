r"""Style transfer as a feature transform (notebook 05c): give the photo's features the painting's statistics,
then find an image with those features.

- AdaIN (Huang & Belongie 2017): $\mathrm{AdaIN}(f_c, f_s) = \sigma(f_s)\,\frac{f_c - \mu(f_c)}{\sigma(f_c)} + \mu(f_s)$,
  per channel: the result has the painting's channel means and standard deviations (`statistics.channel_mean_std`).
- WCT, the whitening and colouring transform (Li et al. 2017, "Universal Style Transfer"): whiten the centred
  photo features, $\hat f = \Sigma_c^{-1/2}(f_c - \mu_c)$, so their covariance is the identity; colour them,
  $\Sigma_s^{1/2}\hat f + \mu_s$, so it is the painting's covariance.
- `invert`: an image whose features match given ones, by the optimisation loop of `transfer` (the content
  term of `Objective`, scale-free, at each given layer, and optionally a style term). Huang & Belongie and
  Li et al. train a decoder network for this step; here the optimiser is the decoder, slower per image but
  needing no training.

Departure from Li et al.: they drop eigenvalues below 1e-5 when whitening; here those below 1e-5 of the largest
are dropped (relative, so that the rule does not depend on the feature scale of the network's input convention).
"""
import torch

from . import precision, runtime
from .features import VGGFeatures, vgg_for
from .objective import Objective
from .parameterization import Pyramid
from .statistics import channel_mean_cov, channel_mean_std, sqrtm_psd
from .transfer import Result, optimize

__all__ = ["adain", "wct", "invert"]

DROP = 1e-5  # WCT: eigenvalues of the photo's covariance below this fraction of the largest are not whitened


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """(B, N, H, W) photo features with the channel means and standard deviations of `style` (1 or B, N, H', W')."""
    mean_c, std_c = channel_mean_std(content)
    mean_s, std_s = channel_mean_std(style)
    normalised = (content - mean_c[..., None, None]) / std_c[..., None, None]
    return std_s[..., None, None] * normalised + mean_s[..., None, None]


def _inverse_sqrt(cov: torch.Tensor) -> torch.Tensor:
    r"""$\Sigma^{-1/2}$ on the eigenvectors whose eigenvalues are at least DROP × the largest, 0 on the others."""
    values, vectors = torch.linalg.eigh(cov.double())
    kept = values > DROP * values[..., -1:]
    scale = torch.where(kept, values.clamp_min(1e-300).rsqrt(), torch.zeros_like(values))
    return ((vectors * scale.unsqueeze(-2)) @ vectors.transpose(-1, -2)).to(cov.dtype)


def wct(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """(B, N, H, W) photo features with the mean and covariance of `style` (1 or B, N, H', W'): whiten, then colour."""
    b, n, h, w = content.shape
    mean_c, cov_c = channel_mean_cov(content)
    mean_s, cov_s = channel_mean_cov(style)
    centred = content.reshape(b, n, h * w) - mean_c.unsqueeze(-1)
    whitened = _inverse_sqrt(cov_c) @ centred
    return (sqrtm_psd(cov_s) @ whitened + mean_s.unsqueeze(-1)).reshape(b, n, h, w)


def invert(targets: dict, start: torch.Tensor, model: VGGFeatures | str | None = None, steps: int | None = None,
           style: torch.Tensor | None = None, objective: Objective | None = None, progress: bool = True) -> Result:
    r"""The image whose features match `targets` (layer → (1, N, H, W)), found from `start` by `optimize` with the
    default pyramid schedule: the scale-free content term $\lVert F - T\rVert^2 / \lVert T\rVert^2$ of each
    layer, summed, and the range penalty. With a `style` image, `objective`'s style term joins them (its content
    layers are replaced by those of `targets`): Huang & Belongie's decoder loss, when the statistic is mean_std."""
    model, dev = vgg_for(model, None)
    steps = runtime.default("steps", steps)
    targets = {name: value.to(dev) for name, value in targets.items()}
    objective = (objective or Objective()).replace(content_layers=tuple(targets))
    styles = [] if style is None else [style.to(dev)]
    loss = objective.loss(model, styles=styles, content_per_call=True, features=precision.feature_fn(model, dev))

    def loss_fn(x):
        return {name: value.mean() for name, value in loss.per_image(x, targets).items()}

    return optimize(start.to(dev), loss_fn, steps, parameterization=Pyramid, progress=progress)
