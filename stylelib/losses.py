r"""The losses of Gatys et al. (2016) and total variation, as pure functions.

Notation as in the notebooks: a layer's features $F \in \mathbb{R}^{N \times M}$ have $N$ channels
and $M = H W$ positions.

Gram matrix, normalised by the number of positions so it does not grow with image size:
$$G_{ij} = \frac{1}{M} \sum_k F_{ik} F_{jk}$$
Each entry is the average co-activation of channels $i$ and $j$. With this normalisation the
style loss of one layer is $\ell_l = \frac{1}{N^2}\sum_{ij}(G_{ij} - A_{ij})^2 = 4E_l$, where $E_l$ is
Gatys et al.'s term with unnormalised Gram matrices,
$E_l = \frac{1}{4N^2M^2}\sum_{ij}(\sum_k F_{ik}F_{jk} - \sum_k S_{ik}S_{jk})^2$.
The notebooks write $\ell_l$ for this library's term and $E_l$ only for the paper's.

Scale-free terms (`scale_free=True`, what `stylize` uses; a departure from the paper): the content
term is divided by the mean square of its target $\overline{P^2}$, a style layer's by
$\overline{A^2}$. Multiplying every feature by $s$ multiplies the paper's content term by $s^2$ and
its style term by $s^4$; the scale-free terms do not change at all, so one default weight serves
networks of any feature scale, and every style layer starts on the same footing (the raw terms of the
shallow layers are orders of magnitude larger than the deep ones', so plain equal weights let shallow
layers win; notebook 02 measures it).
"""
import torch

__all__ = ["gram_matrix", "masked_gram_matrix", "content_loss", "style_layer_loss", "style_loss",
           "tv_anisotropic", "tv_isotropic", "tv_squared", "TV", "range_penalty"]


def _wide(values: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 values as fp32 (fp32 and fp64 as they are): losses are summed in at least fp32."""
    return values.float() if values.dtype in (torch.bfloat16, torch.float16) else values


class _FlatGram(torch.autograd.Function):
    r"""$F F^\top$ in at least fp32 for a batch of (N, M) matrices, with a backward pass of one matrix product.

    Autograd would treat $F$ and $F^\top$ as two inputs and spend two (N×N)·(N×M) products on the
    gradient; since $G$ is symmetric in $F$, $\partial L/\partial F = (\bar G + \bar G^\top) F$ is one.
    That product runs in the features' own precision: bf16 where the network runs in bf16
    (`stylelib.precision`), which is what the network's backward pass receives anyway. The Gram matrix
    itself is always fp32 (rounded to bf16 it cost a sixth more evaluations to the bench's target).
    The Gram products are a fifth of an evaluation's time on the CPU (bench/README.md)."""

    @staticmethod
    def forward(ctx, flat):
        ctx.save_for_backward(flat)
        flat = _wide(flat)
        return flat @ flat.transpose(1, 2)

    @staticmethod
    def backward(ctx, grad):
        flat, = ctx.saved_tensors
        return (grad + grad.transpose(1, 2)).to(flat.dtype) @ flat


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, N, H, W) features → (B, N, N) Gram matrices (bf16 features give fp32 ones), averaged over the M = H·W positions."""
    b, n, h, w = features.shape
    return _FlatGram.apply(features.reshape(b, n, h * w)) / (h * w)


def masked_gram_matrix(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Gram matrix of the positions inside `mask` only: $G_{ij} = \sum_k m_k^2 F_{ik} F_{jk} / \sum_k m_k^2$.

    `mask` (H', W'), (1, H', W') or (B, 1, H', W') with values in [0, 1] is resized to the layer's
    H × W by area averaging, so one painted mask serves every layer. Features outside the mask are
    multiplied by 0 and so get no gradient; the division by the mask's area keeps the statistics
    comparable to an unmasked Gram matrix (a mask of ones, or any constant, gives `gram_matrix`).
    """
    b, n, h, w = features.shape
    features = _wide(features)
    mask = mask.to(features.dtype).reshape(-1, 1, *mask.shape[-2:])
    if mask.shape[-2:] != (h, w):
        mask = torch.nn.functional.interpolate(mask, size=(h, w), mode="area")
    masked = (features * mask).reshape(b, n, h * w)
    area = mask.pow(2).flatten(1).sum(1).clamp_min(1e-8).view(-1, 1, 1)
    return _FlatGram.apply(masked) / area


def per_image_mean(values: torch.Tensor) -> torch.Tensor:
    """(B, ...) → (B,): the mean of each image's entries, so a batch holds independent problems."""
    return values.flatten(1).mean(1)


def _reduce(losses: torch.Tensor, per_image: bool) -> torch.Tensor:
    return losses if per_image else losses.mean()


def content_loss(features: torch.Tensor, target: torch.Tensor, scale_free: bool = False,
                 per_image: bool = False) -> torch.Tensor:
    r"""Mean squared difference of feature maps: $\frac{1}{NM}\sum (F - P)^2$, divided by
    $\overline{P^2}$ when `scale_free`, which makes it $\lVert F - P\rVert^2 / \lVert P\rVert^2$, the inversion loss of
    Mahendran & Vedaldi (2015). Mean over the batch, or one value per image (`per_image`)."""
    losses = per_image_mean((_wide(features) - target).pow(2))
    if scale_free:
        losses = losses / per_image_mean(target.pow(2)).clamp_min(1e-12)
    return _reduce(losses, per_image)


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor, mask: torch.Tensor | None = None,
                     scale_free: bool = False, per_image: bool = False) -> torch.Tensor:
    r"""$\ell_l = \frac{1}{N^2}\sum_{ij} (G_{ij} - A_{ij})^2$ for one layer ($= 4E_l$, Gatys' term), divided
    by $\overline{A^2}$ when `scale_free`; `mask`: see `masked_gram_matrix`. Mean over the batch, or per image."""
    gram = gram_matrix(features) if mask is None else masked_gram_matrix(features, mask)
    losses = per_image_mean((gram - target_gram).pow(2))
    if scale_free:
        losses = losses / target_gram.pow(2).mean().clamp_min(1e-12)
    return _reduce(losses, per_image)


def style_loss(features: dict, target_grams: dict, layer_weights: dict | None = None,
               mask: torch.Tensor | None = None, scale_free: bool = False, per_image: bool = False) -> torch.Tensor:
    r"""$\sum_l w_l \ell_l$ over the layers in `target_grams`; equal weights $w_l = 1/L$ by default.

    `features` are the image's feature maps, layer → (B, N, H, W), as `model(image, layers)` returns them:
    this function takes their Gram matrices itself. `target_grams` are the targets' Gram matrices, layer →
    (B or 1, N, N). `scale_free=False` (this function's default) gives the plain sum, $\ell_l = 4E_l$ per layer;
    `scale_free=True` divides each $\ell_l$ by $\overline{A^2}$, as `Objective` does by default."""
    layer_weights = layer_weights or {name: 1 / len(target_grams) for name in target_grams}
    return sum(w * style_layer_loss(features[name], target_grams[name], mask, scale_free, per_image)
               for name, w in layer_weights.items())


def _differences(image: torch.Tensor):
    """Vertical and horizontal neighbour differences, cropped to the same (H-1, W-1) grid."""
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    return dy, dx


def tv_anisotropic(image: torch.Tensor, per_image: bool = False) -> torch.Tensor:
    r"""L1 total variation: $\mathrm{mean}(|\Delta_x| + |\Delta_y|)$ over the (H-1)×(W-1) grid."""
    dy, dx = _differences(image)
    return _reduce(per_image_mean(dy.abs() + dx.abs()), per_image)


def tv_isotropic(image: torch.Tensor, per_image: bool = False, eps: float = 1e-8) -> torch.Tensor:
    r"""Isotropic TV: $\mathrm{mean}\sqrt{\Delta_x^2 + \Delta_y^2 + \epsilon}$ ($\epsilon$ keeps it differentiable at 0)."""
    dy, dx = _differences(image)
    return _reduce(per_image_mean((dy.pow(2) + dx.pow(2) + eps).sqrt()), per_image)


def tv_squared(image: torch.Tensor, per_image: bool = False) -> torch.Tensor:
    r"""Squared L2 TV: $\mathrm{mean}(\Delta_x^2 + \Delta_y^2)$: smooth, punishes big jumps most."""
    dy, dx = _differences(image)
    return _reduce(per_image_mean(dy.pow(2) + dx.pow(2)), per_image)


TV = {"anisotropic": tv_anisotropic, "isotropic": tv_isotropic, "squared": tv_squared}


def range_penalty(image: torch.Tensor, per_image: bool = False) -> torch.Tensor:
    """Squared distance of pixels outside [0, 1]: a smooth wall that keeps L-BFGS valid (no clamping)."""
    return _reduce(per_image_mean((image - image.clamp(0, 1)).pow(2)), per_image)
