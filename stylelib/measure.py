r"""Looking inside the network and measuring pictures: the helpers behind notebooks 01–04.

- the VGG layer table (channels, spatial size, receptive field) for a given input size;
- which channels fire most, and on which images;
- patch shuffling (a Gram matrix is blind to where things are);
- Gram matrices with the three normalisations found in circulating code;
- per-layer style losses recorded during a run;
- the share of spectral energy at high frequencies, and TV denoising;
- positional layer names (`conv_4`) translated to the papers' names (`conv2_2`).

Receptive field recurrence, per layer with kernel $k$ and stride $s$ (jump $j$ = input pixels
between neighbouring positions): $r \leftarrow r + (k - 1)\,j$, then $j \leftarrow j\,s$.
"""
import math
from dataclasses import dataclass

import torch

from . import runtime
from .errors import SettingsError
from .features import VGGFeatures
from .layers import layer_names
from .losses import TV, gram_matrix, style_layer_loss
from .objective import STYLE_LAYERS
from .validation import choice, number
from .transfer import Result, optimize

__all__ = ["LayerInfo", "layer_table", "table_text", "positional_names", "top_channels", "channel_response",
           "shuffle_patches", "relative_change", "GRAM_NORMALISATIONS", "gram_variants", "StyleLayerTracker",
           "high_frequency_energy", "psnr", "add_noise", "tv_denoise"]


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer table: the output of layer `name` for the given input size."""

    name: str
    channels: int
    height: int
    width: int
    receptive_field: int  # side, in input pixels, of the square one output position can see
    jump: int  # input pixels between neighbouring output positions


def _size(size) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if min(h, w) < 1:
        raise SettingsError(f"input size must be positive, got {size!r}")
    return h, w


def layer_table(model: VGGFeatures, size) -> list[LayerInfo]:
    """Every layer of `model` for an input of `size` (int or (H, W)), worked out from its geometry."""
    h, w = _size(size)
    channels, rf, jump, rows = 3, 1, 1, []
    for name, module in model.body.named_children():
        if isinstance(module, torch.nn.Conv2d):
            (k, _), (p, _), (s, _) = module.kernel_size, module.padding, module.stride
            channels = module.out_channels
        elif isinstance(module, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            k, p, s = module.kernel_size, module.padding, module.stride
        else:  # ReLU: same grid, same field
            k, p, s = 1, 0, 1
        h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        rf, jump = rf + (k - 1) * jump, jump * s
        rows.append(LayerInfo(name, channels, h, w, rf, jump))
    return rows


def table_text(rows: list[LayerInfo], input_size=None) -> str:
    """The layer table as aligned text; with `input_size`, says where the field covers the whole image."""
    limit = max(_size(input_size)) if input_size is not None else math.inf
    lines = [f"{'layer':<9}{'channels':>9}{'H x W':>11}{'receptive field':>17}"]
    for r in rows:
        note = "  (whole image)" if r.receptive_field >= limit else ""
        lines.append(f"{r.name:<9}{r.channels:>9}{f'{r.height} x {r.width}':>11}{f'{r.receptive_field} px':>17}{note}")
    return "\n".join(lines)


def positional_names(arch: str = "vgg19") -> dict[str, str]:
    """The names of circulating code that counts layers by position (conv_1, relu_1, pool_1, …)
    mapped to the papers' names: conv_4 is conv2_2, not conv4_2."""
    counts, names = {}, {}
    for name in layer_names(arch):
        kind = name.rstrip("0123456789_")
        counts[kind] = counts.get(kind, 0) + 1
        names[f"{kind}_{counts[kind]}"] = name
    return names


# --- channels ----------------------------------------------------------------------------------

def top_channels(features: torch.Tensor, k: int = 4) -> list[tuple[int, float]]:
    """The `k` channels of a (1, N, H, W) feature map with the highest mean activation, strongest first."""
    means = features[0].mean(dim=(1, 2))
    values, indices = means.topk(min(k, means.numel()))
    return [(int(i), float(v)) for i, v in zip(indices, values)]


@torch.no_grad()
def channel_response(model: VGGFeatures, layer: str, channel: int, images: dict) -> list[tuple[str, float]]:
    """Mean activation of one channel on each image (name → (1, 3, H, W) tensor), strongest first."""
    dev = next(model.parameters()).device
    scores = [(name, float(model(img.to(dev), [layer])[layer][0, channel].mean())) for name, img in images.items()]
    return sorted(scores, key=lambda item: -item[1])


# --- where things are --------------------------------------------------------------------------

def shuffle_patches(image: torch.Tensor, patch: int, seed: int = 0) -> torch.Tensor:
    """Cut the image into `patch`×`patch` tiles and lay them out in a random order (the edges
    that do not fill a whole tile are cropped). Same pixels, same local textures, new layout."""
    b, c, h, w = image.shape
    rows, cols = h // patch, w // patch
    if rows * cols < 2:
        raise SettingsError(f"patch size {patch} leaves fewer than two tiles in a {h}x{w} image")
    tiles = image[..., : rows * patch, : cols * patch].reshape(b, c, rows, patch, cols, patch)
    tiles = tiles.permute(0, 2, 4, 1, 3, 5).reshape(b, rows * cols, c, patch, patch)
    order = torch.randperm(rows * cols, generator=torch.Generator().manual_seed(seed))
    tiles = tiles[:, order.to(image.device)].reshape(b, rows, cols, c, patch, patch)
    return tiles.permute(0, 3, 1, 4, 2, 5).reshape(b, c, rows * patch, cols * patch)


def relative_change(a: torch.Tensor, b: torch.Tensor) -> float:
    """‖a − b‖ / ‖a‖: 0 means unchanged, about 1 or more means completely different."""
    return float((a - b).norm() / a.norm())


GRAM_NORMALISATIONS = ("sum", "positions", "channels x positions")


def gram_variants(features: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""The Gram matrix with the normalisations found in circulating code: none ($\sum_k$), divided
    by $M$ (stylelib), divided by $N M$ (the PyTorch tutorial)."""
    n, m = features.shape[1], features.shape[2] * features.shape[3]
    g = gram_matrix(features)
    return {"sum": g * m, "positions": g, "channels x positions": g / n}


class StyleLayerTracker:
    r"""A `stylize` callback (use with `every=1`) that records each style layer's loss $E_l$,
    unweighted, on the current image after every step: how fast each depth is matched.

    `scale_free=True` records the terms `stylize` minimises by default ($E_l / \overline{A^2}$);
    the default records the paper's raw $E_l$. Each record costs one extra forward pass, so time
    runs without a tracker."""

    def __init__(self, model: VGGFeatures, style_image: torch.Tensor, layers=STYLE_LAYERS, scale_free: bool = False):
        self.model, self.layers, self.scale_free = model, model.check_layers(layers), scale_free
        dev = next(model.parameters()).device
        with torch.no_grad():
            self.targets = {k: gram_matrix(v) for k, v in model(style_image.to(dev), self.layers).items()}
        self.curves = {name: [] for name in self.layers}

    @torch.no_grad()
    def __call__(self, step, image, result) -> bool:
        feats = self.model(image, self.layers)
        for name in self.layers:
            self.curves[name].append(float(style_layer_loss(feats[name], self.targets[name],
                                                             scale_free=self.scale_free)))
        return False  # never stops the run


# --- frequencies and total variation -----------------------------------------------------------

def high_frequency_energy(image: torch.Tensor, cutoff: float = 0.25) -> float:
    r"""Share of the image's spectral energy above `cutoff` cycles per pixel (Nyquist = 0.5).

    $\sum_{|f| > f_c} |\hat x(f)|^2 / \sum_{f \neq 0} |\hat x(f)|^2$ over the 2-D FFT of each channel
    with its mean removed. The FFT treats the image as periodic, so compare images of the same scene
    and size (their borders add the same jump)."""
    if not 0 < cutoff < 0.5 * math.sqrt(2):
        raise SettingsError(f"cutoff must be in (0, 0.707) cycles per pixel, got {cutoff!r}")
    x = image.detach().float().cpu()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).reshape(-1, *x.shape[-2:]).sum(dim=0)
    fy = torch.fft.fftfreq(x.shape[-2]).view(-1, 1)
    fx = torch.fft.fftfreq(x.shape[-1]).view(1, -1)
    high = (fy.pow(2) + fx.pow(2)).sqrt() > cutoff
    return float(power[high].sum() / power.sum().clamp_min(1e-20))


def psnr(image: torch.Tensor, reference: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]: higher is closer to the reference."""
    mse = float((image - reference).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def add_noise(image: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """The image plus seeded Gaussian noise of standard deviation `sigma`, clipped to [0, 1]."""
    noise = torch.randn(image.shape, generator=torch.Generator().manual_seed(seed))
    return (image + sigma * noise.to(image.device)).clamp(0, 1)


def tv_denoise(noisy: torch.Tensor, weight: float, tv: str = "isotropic", steps: int | None = None,
               progress: bool = False) -> Result:
    r"""Rudin–Osher–Fatemi style denoising: minimise $\mathrm{mean}(x - y)^2 + \lambda\,\mathrm{TV}(x)$
    from $x = y$ with the same loop that stylizes (terms "data" and "tv").

    Both terms are multiplied by the number of pixel values: the minimiser is the same, but L-BFGS's
    first step, which is the raw gradient before any curvature is known, becomes a useful one instead
    of a negligible one (means of a few hundredths have per-pixel gradients near 1e-6)."""
    choice("tv", tv, TV)
    weight = number("weight", weight)
    steps = runtime.default("denoise_steps", steps)
    target = noisy.detach()

    scale = target.numel()

    def loss_fn(x):
        return {"data": scale * (x - target).pow(2).mean(), "tv": scale * weight * TV[tv](x)}

    return optimize(target, loss_fn, steps, progress=progress, desc="denoising")
