r"""The losses of Gatys et al. (2016) and total variation, as pure functions.

Notation as in the notebooks: a layer's features $F \in \mathbb{R}^{N \times M}$ have $N$ channels
and $M = H W$ positions.

Gram matrix, normalised by the number of positions so it does not grow with image size:
$$G_{ij} = \frac{1}{M} \sum_k F_{ik} F_{jk}$$
Each entry is the average co-activation of channels $i$ and $j$. With this normalisation the
style loss of one layer, $\frac{1}{N^2}\sum_{ij}(G_{ij} - A_{ij})^2$, is Gatys' $E_l$ times 4.
"""
import torch


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, N, H, W) features → (B, N, N) Gram matrices, averaged over the M = H·W positions."""
    b, n, h, w = features.shape
    flat = features.reshape(b, n, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def masked_gram_matrix(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Gram matrix of the positions inside `mask` only: $G_{ij} = \sum_k m_k^2 F_{ik} F_{jk} / \sum_k m_k^2$.

    `mask` (H', W'), (1, H', W') or (B, 1, H', W') with values in [0, 1] is resized to the layer's
    H × W by area averaging, so one painted mask serves every layer. Features outside the mask are
    multiplied by 0 and so get no gradient; the division by the mask's area keeps the statistics
    comparable to an unmasked Gram matrix (a mask of ones, or any constant, gives `gram_matrix`).
    """
    b, n, h, w = features.shape
    mask = mask.to(features.dtype).reshape(-1, 1, *mask.shape[-2:])
    if mask.shape[-2:] != (h, w):
        mask = torch.nn.functional.interpolate(mask, size=(h, w), mode="area")
    masked = (features * mask).reshape(b, n, h * w)
    area = mask.pow(2).flatten(1).sum(1).clamp_min(1e-8).view(-1, 1, 1)
    return masked @ masked.transpose(1, 2) / area


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Mean squared difference of feature maps: $\frac{1}{NM}\sum (F - P)^2$."""
    return (features - target).pow(2).mean()


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""$\frac{1}{N^2}\sum_{ij} (G_{ij} - A_{ij})^2$ for one layer (mean over batch too); `mask`: see `masked_gram_matrix`."""
    gram = gram_matrix(features) if mask is None else masked_gram_matrix(features, mask)
    return (gram - target_gram).pow(2).mean()


def style_loss(features: dict, target_grams: dict, layer_weights: dict | None = None,
               mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""$\sum_l w_l E_l$ over the layers in `target_grams`; equal weights $w_l = 1/L$ by default."""
    layer_weights = layer_weights or {name: 1 / len(target_grams) for name in target_grams}
    return sum(w * style_layer_loss(features[name], target_grams[name], mask) for name, w in layer_weights.items())


def _differences(image: torch.Tensor):
    """Vertical and horizontal neighbour differences, cropped to the same (H-1, W-1) grid."""
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    return dy, dx


def tv_anisotropic(image: torch.Tensor) -> torch.Tensor:
    r"""L1 total variation: $\mathrm{mean}(|\Delta_x| + |\Delta_y|)$ over the (H-1)×(W-1) grid."""
    dy, dx = _differences(image)
    return (dy.abs() + dx.abs()).mean()


def tv_isotropic(image: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    r"""Isotropic TV: $\mathrm{mean}\sqrt{\Delta_x^2 + \Delta_y^2 + \epsilon}$ ($\epsilon$ keeps it differentiable at 0)."""
    dy, dx = _differences(image)
    return (dy.pow(2) + dx.pow(2) + eps).sqrt().mean()


def tv_squared(image: torch.Tensor) -> torch.Tensor:
    r"""Squared L2 TV: $\mathrm{mean}(\Delta_x^2 + \Delta_y^2)$: smooth, punishes big jumps most."""
    dy, dx = _differences(image)
    return (dy.pow(2) + dx.pow(2)).mean()


TV = {"anisotropic": tv_anisotropic, "isotropic": tv_isotropic, "squared": tv_squared}


def range_penalty(image: torch.Tensor) -> torch.Tensor:
    """Squared distance of pixels outside [0, 1]: a smooth wall that keeps L-BFGS valid (no clamping)."""
    return (image - image.clamp(0, 1)).pow(2).mean()
