r"""What a style statistic is: a summary of a layer's features that forgets where things are (notebook 05c).

Each statistic is a pair: a *target* measured once on the painting's features, and a *distance* from the
current image's features to it. `Objective(style_statistic=NAME)` chooses one for every style layer.
A layer's features are $F \in \mathbb{R}^{N \times M}$: $N$ channels, $M = HW$ positions, one column $f_k$ per
position, treated as $M$ samples of a distribution over $\mathbb{R}^N$.

- "gram": the Gram matrix $G = \frac1M FF^\top$ (Gatys et al. 2016), `losses.style_layer_loss`; the default.
- "mean_std": each channel's mean $\mu_i$ and standard deviation $\sigma_i$ (Huang & Belongie 2017), with
  the distance $\frac1N\sum_i (\mu_i - \mu'_i)^2 + (\sigma_i - \sigma'_i)^2$: the squared Wasserstein-2
  distance between two Gaussians with diagonal covariances, per channel.
- "mean_cov": the mean $\mu$ and covariance $\Sigma$, with the squared Wasserstein-2 distance between
  the Gaussians $\mathcal N(\mu, \Sigma)$ and $\mathcal N(\mu', \Sigma')$ per channel, in closed form:
  $\frac1N\big(\lVert\mu - \mu'\rVert^2 + \mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma'
  - 2\,\mathrm{tr}\,(\Sigma'^{1/2}\Sigma\,\Sigma'^{1/2})^{1/2}\big)$ (as crowsonkb/style-transfer-pytorch's
  `StyleLossW2`).
- "sliced": the whole distribution, seen along $K = N$ random unit directions $u$: the squared 1-D
  Wasserstein-2 distance between the projections $u^\top f_k$, which is the mean squared difference of the
  two sorted lists of projections, averaged over the directions (Heitz et al. 2021).

`scale_free=True` (what `Objective` uses) divides each distance by the distance from all-zero features to
the target, as for the Gram matrix (there: $\overline{A^2}$), so that multiplying every feature by a constant
changes no term and the layers start on the same footing.

Departures from the papers, each for a reason:
- Heitz et al. draw new directions at every step. Here they are drawn once per run (seeded): L-BFGS builds its
  curvature from gradient differences of one function, and new directions make a new function at every step.
  A few hundred steps see the same N directions per layer, so finer structure than they show can be missed.
- Heitz et al. compare images of equal size; here the painting's sorted projections are resampled to the
  image's number of positions by linear interpolation (the quantile function at the same fractions).
- The matrix square roots come from eigendecompositions in float64, eigenvalues clamped at 0: covariances of
  deep layers are nearly singular (fewer positions than channels), where float32 loses the small eigenvalues.
- "gram" accepts `style_masks` as `losses.masked_gram_matrix` does; "mean_std" and "mean_cov" weight each
  position by its squared mask value $m_k^2$, the Gram matrix's weights; "sliced" refuses masks.
"""
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as nnf

from .losses import _wide, gram_matrix, style_layer_loss

__all__ = ["STATISTICS", "Statistic", "channel_mean_std", "channel_mean_cov", "sqrtm_psd", "gaussian_w2",
           "random_directions", "sorted_projections", "wasserstein_1d", "scores"]

STD_EPS = 1e-8  # inside the square root of the variance: a dead channel (all zeros) keeps a finite gradient


def _flat(features: torch.Tensor) -> torch.Tensor:
    """(B, N, H, W) → (B, N, M), in at least fp32."""
    return _wide(features).flatten(2)


def _position_weights(features: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
    """Per position, m_k² / Σ m_k² with the mask resized to the layer by area averaging (as masked_gram_matrix),
    shaped (B or 1, 1, M); None without a mask."""
    if mask is None:
        return None
    mask = mask.to(_wide(features).dtype).reshape(-1, 1, *mask.shape[-2:])
    if mask.shape[-2:] != features.shape[-2:]:
        mask = nnf.interpolate(mask, size=features.shape[-2:], mode="area")
    weights = mask.pow(2).flatten(2)
    return weights / weights.sum(-1, keepdim=True).clamp_min(1e-8)


def channel_mean_std(features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Each channel's mean $\mu_i$ and standard deviation $\sigma_i = \sqrt{\frac1M\sum_k (F_{ik} - \mu_i)^2 + \epsilon}$
    over the positions (B, N) each, the population statistics of Huang & Belongie's AdaIN; `mask` weights them."""
    flat, weights = _flat(features), _position_weights(features, mask)
    if weights is None:
        mean = flat.mean(-1)
        variance = (flat - mean.unsqueeze(-1)).pow(2).mean(-1)
    else:
        mean = (flat * weights).sum(-1)
        variance = ((flat - mean.unsqueeze(-1)).pow(2) * weights).sum(-1)
    return mean, (variance + STD_EPS).sqrt()


def channel_mean_cov(features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The mean $\mu$ (B, N) and the covariance $\Sigma = \frac1M \sum_k (f_k - \mu)(f_k - \mu)^\top$ (B, N, N) of the
    positions' feature vectors (population covariance); `mask` weights the positions."""
    flat, weights = _flat(features), _position_weights(features, mask)
    weights = torch.full_like(flat[:, :1], 1 / flat.shape[-1]) if weights is None else weights
    mean = (flat * weights).sum(-1)
    centred = flat - mean.unsqueeze(-1)
    return mean, (centred * weights) @ centred.transpose(1, 2)


def sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """The square root of symmetric positive semi-definite matrices (…, N, N), from their eigendecomposition in
    float64 (negative rounding-error eigenvalues clamped to 0), returned in the input's dtype."""
    values, vectors = torch.linalg.eigh(matrix.double())
    return ((vectors * values.clamp_min(0).sqrt().unsqueeze(-2)) @ vectors.transpose(-1, -2)).to(matrix.dtype)


def gaussian_w2(mean, cov, target_mean, target_cov_sqrt) -> torch.Tensor:
    r"""$W_2^2(\mathcal N(\mu, \Sigma), \mathcal N(\mu', \Sigma'))
    = \lVert\mu - \mu'\rVert^2 + \mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma'
    - 2\,\mathrm{tr}\,(\Sigma'^{1/2}\Sigma\,\Sigma'^{1/2})^{1/2}$,
    one per batch entry, given $\Sigma'^{1/2}$ (computed once for a target). The last trace is the sum of the
    square roots of the eigenvalues of $\Sigma'^{1/2}\Sigma\,\Sigma'^{1/2}$, differentiable where they are positive
    (eigenvalues at or below 1e-12 are clamped and get no gradient)."""
    inner = (target_cov_sqrt @ cov @ target_cov_sqrt).double()
    inner = (inner + inner.transpose(-1, -2)) / 2  # symmetric to rounding error; eigvalsh reads one triangle
    cross = torch.linalg.eigvalsh(inner).clamp_min(1e-12).sqrt().sum(-1).to(cov.dtype)
    target_trace = target_cov_sqrt.pow(2).sum((-2, -1))  # tr Σ' = ‖Σ'^{1/2}‖_F²
    return (mean - target_mean).pow(2).sum(-1) + cov.diagonal(0, -2, -1).sum(-1) + target_trace - 2 * cross


def random_directions(channels: int, count: int, seed: int = 0) -> torch.Tensor:
    """`count` random unit vectors in R^channels (count, channels), uniform on the sphere, from `seed`."""
    directions = torch.randn(count, channels, generator=torch.Generator().manual_seed(seed))
    return directions / directions.norm(dim=1, keepdim=True)


def sorted_projections(features: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    r"""The projections $u^\top f_k$ of every position on every direction, sorted over the positions: (B, K, M)."""
    flat = _flat(features)
    return torch.einsum("kn,bnm->bkm", directions.to(flat.device, flat.dtype), flat).sort(-1).values


def wasserstein_1d(sorted_values: torch.Tensor, target_sorted: torch.Tensor) -> torch.Tensor:
    r"""The squared 1-D Wasserstein-2 distance between the empirical distributions of two sorted lists (…, M) and
    (…, M'), averaged over the leading K lists: $\frac1K\sum\frac1M\sum_k (a_{(k)} - b_{(k)})^2$, one per batch
    entry. Sorted lists pair the k-th smallest with the k-th smallest, the optimal transport plan in one
    dimension. A target of another length M' is resampled to M by linear interpolation."""
    if target_sorted.shape[-1] != sorted_values.shape[-1]:
        target_sorted = nnf.interpolate(target_sorted, size=sorted_values.shape[-1], mode="linear", align_corners=False)
    return (sorted_values - target_sorted).pow(2).flatten(1).mean(1)


def _reduce(losses: torch.Tensor, per_image: bool) -> torch.Tensor:
    return losses if per_image else losses.mean()


# --- each statistic as a target and a distance -----------------------------------------------------------------
# A distance takes (features, target, mask, scale_free) and returns one value per image.

def _mean_std_target(features):
    mean, std = channel_mean_std(features)
    return mean, std, (mean.pow(2) + std.pow(2)).mean(-1)  # the last: the distance from all-zero features


def _mean_std_distance(features, target, mask, scale_free):
    mean, std = channel_mean_std(features, mask)
    losses = ((mean - target[0]).pow(2) + (std - target[1]).pow(2)).mean(-1)
    return losses / target[2].clamp_min(1e-12) if scale_free else losses


def _mean_cov_target(features):
    mean, cov = channel_mean_cov(features)
    return mean, sqrtm_psd(cov), mean.pow(2).sum(-1) + cov.diagonal(0, -2, -1).sum(-1)


def _mean_cov_distance(features, target, mask, scale_free):
    mean, cov = channel_mean_cov(features, mask)
    losses = gaussian_w2(mean, cov, target[0], target[1])
    return losses / target[2].clamp_min(1e-12) if scale_free else losses / mean.shape[-1]


def _sliced_target(features, seed: int = 0):
    directions = random_directions(features.shape[1], features.shape[1], seed).to(features.device, _wide(features).dtype)
    projected = sorted_projections(features, directions)
    return directions, projected, projected.pow(2).flatten(1).mean(1)


def _sliced_distance(features, target, mask, scale_free):
    losses = wasserstein_1d(sorted_projections(features, target[0]), target[1])
    return losses / target[2].clamp_min(1e-12) if scale_free else losses


def _gram_distance(features, target, mask, scale_free):
    return style_layer_loss(features, target, mask, scale_free, per_image=True)


@dataclass(frozen=True)
class Statistic:
    """A style statistic: `target(features)` measured once on the painting, `distance(features, target, mask,
    scale_free)` one value per image; `masks`: whether it accepts a style mask."""

    name: str
    target: Callable
    distance: Callable
    masks: bool = True

    def loss(self, features, target, mask=None, scale_free: bool = False, per_image: bool = False) -> torch.Tensor:
        """The distance of one layer, the batch mean or one value per image (`per_image`)."""
        return _reduce(self.distance(features, target, mask, scale_free), per_image)


STATISTICS = {
    "gram": Statistic("gram", gram_matrix, _gram_distance),
    "mean_std": Statistic("mean_std", _mean_std_target, _mean_std_distance),
    "mean_cov": Statistic("mean_cov", _mean_cov_target, _mean_cov_distance),
    "sliced": Statistic("sliced", _sliced_target, _sliced_distance, masks=False),
}


@torch.no_grad()
def scores(features: dict, source_features: dict, seed: int = 1) -> dict[str, float]:
    """Each statistic's scale-free distance from `features` to `source_features` (layer → (1, N, H, W)), averaged over
    the layers: how well an image matches a source by every statistic's measure. The sliced one draws its directions
    from `seed`, other than the optimisation's (0), so that a sliced result is not scored on the directions it fitted."""
    found = {}
    for name, stat in STATISTICS.items():
        target = (lambda f: _sliced_target(f, seed)) if name == "sliced" else stat.target
        found[name] = sum(float(stat.loss(features[layer], target(source), scale_free=True))
                          for layer, source in source_features.items()) / len(source_features)
    return found
