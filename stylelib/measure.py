r"""Looking inside the network and measuring pictures: the helpers behind notebooks 01–05b.

- the VGG layer table (channels, spatial size, receptive field) for a given input size;
- which channels fire most, and on which images;
- patch shuffling (a Gram matrix is blind to where things are);
- Gram matrices with the three normalisations found in circulating code;
- per-layer style losses recorded during a run;
- the share of spectral energy at high frequencies, and TV denoising;
- positional layer names (`conv_4`) translated to the papers' names (`conv2_2`);
- independent references for the exercise checks of notebooks 04 and 05b (the tutorials' own Gram matrices);
- what each step of the textbook L-BFGS loop did (notebook 03b);
- how close a stylised picture comes to its painting and to its photo (notebook 06, the trained networks' cards).

Receptive field recurrence, per layer with kernel $k$ and stride $s$ (jump $j$ = input pixels
between neighbouring positions): $r \leftarrow r + (k - 1)\,j$, then $j \leftarrow j\,s$.
"""
import math
from dataclasses import dataclass

import torch

from . import runtime
from .errors import SettingsError
from .features import VGGFeatures
from .layers import channels, layer_names
from .losses import TV, content_loss, gram_matrix, style_layer_loss
from .objective import Objective, STYLE_LAYERS
from .validation import choice, number
from .transfer import Result, make_optimizer, optimize

__all__ = ["LayerInfo", "layer_table", "table_text", "positional_names", "top_channels", "channel_response",
           "shuffle_patches", "relative_change", "GRAM_NORMALISATIONS", "gram_variants", "StyleLayerTracker",
           "high_frequency_energy", "psnr", "add_noise", "tv_denoise", "neighbour_differences", "box_mean",
           "pytorch_tutorial_gram", "tensorflow_tutorial_gram", "TUTORIAL_LOSSES", "tutorial_terms",
           "LBFGSTrace", "lbfgs_trace", "transfer_scores"]


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
    r"""A `stylize` callback (use with `every=1`) that records each style layer's loss $\ell_l$ (= 4 $E_l$ of
    the paper), unweighted, on the current image after every step: how fast each depth is matched.

    `scale_free=True` records the terms `stylize` minimises by default ($\ell_l / \overline{A^2}$);
    the default records the raw $\ell_l$. Each record costs one extra forward pass, so time
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
    from $x = y$ with `optimize`'s textbook loop: L-BFGS on the pixels, its own steps (terms "data" and "tv").

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

    return optimize(target, loss_fn, steps, progress=progress)


# --- references for the exercise checks of notebooks 04 and 05b ----------------------------------

def neighbour_differences(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$\Delta^x$ (right minus left) and $\Delta^y$ (below minus above) on the (H−1)×(W−1) grid where both
    exist, in float64: notebook 04's definitions, written apart from `losses` so checks can compare with it."""
    x = torch.as_tensor(image, dtype=torch.float64)
    return x[..., :-1, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, :-1]


def box_mean(image: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Each pixel replaced by the mean of its k×k neighbourhood (k odd) *inside* the image: a blur whose
    border is not darkened by the zeros around it, in float64. Window sums come from cumulative sums."""
    if k < 1 or k % 2 == 0:
        raise SettingsError(f"the box side k must be odd and positive, got {k!r}")
    x = torch.as_tensor(image, dtype=torch.float64)
    r, (h, w) = k // 2, x.shape[-2:]

    def window_sums(values):
        padded = torch.nn.functional.pad(values, (r + 1, r, r + 1, r))  # a zero row and column in front for the cumsum
        c = padded.cumsum(-1).cumsum(-2)
        return c[..., k:, k:] - c[..., :-k, k:] - c[..., k:, :-k] + c[..., :-k, :-k]

    counts = window_sums(torch.ones(1, 1, h, w, dtype=torch.float64))  # how many neighbours lie inside
    return window_sums(x) / counts


def pytorch_tutorial_gram(features: torch.Tensor) -> torch.Tensor:
    """The PyTorch tutorial's `gram_matrix`, as written there: F Fᵀ divided by the batch × N × M."""
    a, b, c, d = features.size()
    flat = features.view(a * b, c * d)
    return torch.mm(flat, flat.t()).div(a * b * c * d)


def tensorflow_tutorial_gram(features: torch.Tensor) -> torch.Tensor:
    """The TensorFlow tutorial's `gram_matrix` (channels first here): Σ_k F_ik F_jk / M."""
    return torch.einsum("bchw,bdhw->bcd", features, features) / (features.shape[2] * features.shape[3])


def _mse(a, b):
    return torch.nn.functional.mse_loss(a, b)


# Each tutorial's content layer, style layers, and its own content and style term of one layer.
TUTORIAL_LOSSES = {
    "pytorch_tutorial": dict(
        content_layer="conv2_2", style_layers=("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"),
        content=lambda x, p: 1 * _mse(x, p),
        style=lambda x, s: 1e6 * _mse(pytorch_tutorial_gram(x), pytorch_tutorial_gram(s))),
    "tensorflow_tutorial": dict(
        content_layer="relu5_2", style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        content=lambda x, p: 1e4 * ((x - p) ** 2).mean() / 1,  # content_weight × mean over its 1 layer
        style=lambda x, s: 1e-2 / 5 * ((tensorflow_tutorial_gram(x) - tensorflow_tutorial_gram(s)) ** 2).mean()),
}


def tutorial_terms(recipe: str, alpha: float, beta: float, layer_weights: dict, seed: int = 0) -> list:
    r"""This library's plain loss terms with the given $\alpha$, $\beta$, $w_l$ next to the tutorial's own code,
    on the same random features (12×12 positions, float64): [(term, ours, theirs)], the content term first,
    then one per style layer. A correct conversion gives equal pairs."""
    spec = TUTORIAL_LOSSES[choice("recipe", recipe, tuple(TUTORIAL_LOSSES))]
    missing = sorted(set(spec["style_layers"]) - set(layer_weights))
    if missing:
        raise SettingsError(f"layer_weights has no weight for {', '.join(missing)}")
    generator = torch.Generator().manual_seed(seed)

    def features(n):
        return torch.rand(1, n, 12, 12, dtype=torch.float64, generator=generator)

    n = channels(spec["content_layer"])
    x, p = features(n), features(n)
    terms = [("content", float(alpha * content_loss(x, p)), float(spec["content"](x, p)))]
    for layer in spec["style_layers"]:
        x, s = features(channels(layer)), features(channels(layer))
        ours = beta * layer_weights[layer] * style_layer_loss(x, gram_matrix(s))
        terms.append((layer, float(ours), float(spec["style"](x, s))))
    return terms



# --- L-BFGS's steps, one by one (notebook 03b) -------------------------------------------------

@dataclass
class LBFGSTrace:
    """Per step k of a textbook L-BFGS run: the loss at x_k, the mean |g| per pixel value there, the length
    ‖s_k‖ of the step s_k = x_{k+1} − x_k and its curvature s_kᵀy_k (y_k = g_{k+1} − g_k). PyTorch keeps a
    pair for its curvature model only if s_kᵀy_k > 1e-10 (`kept`)."""

    losses: list
    mean_abs_grads: list
    lengths: list
    curvatures: list

    def kept(self, k: int) -> bool:
        return self.curvatures[k] > 1e-10

    def first_kept(self):
        """The first step whose pair PyTorch keeps, or None."""
        return next((k for k in range(len(self.curvatures)) if self.kept(k)), None)


def lbfgs_trace(loss_fn, start: torch.Tensor, steps: int) -> LBFGSTrace:
    """The textbook loop on the pixels (the L-BFGS of `sl.optimize` with `Pixels`: one evaluation a step,
    no line search), recording what each step did. `loss_fn(x)` returns a scalar tensor."""
    x = start.detach().clone().requires_grad_(True)
    opt = make_optimizer("lbfgs", [x])
    trace, last = LBFGSTrace([], [], [], []), []  # last: (x_k, g_k) of the previous evaluation

    def closure():
        opt.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        point, grad = x.detach().clone(), x.grad.detach().clone()
        if last:
            s, y = point - last[0][0], grad - last[0][1]
            trace.lengths.append(float(s.norm()))
            trace.curvatures.append(float((s * y).sum()))
        last[:] = [(point, grad)]
        trace.losses.append(float(loss.detach()))
        trace.mean_abs_grads.append(float(grad.abs().mean()))
        return loss

    for _ in range(steps):
        opt.step(closure)
    return trace



@torch.no_grad()
def transfer_scores(image: torch.Tensor, photo: torch.Tensor, painting: torch.Tensor,
                    model: VGGFeatures) -> dict[str, float]:
    """How far a stylised `image` is from the painting in style and from the photo in content, each relative to
    the painting–photo distance: the photo itself scores style 1, content 0; the painting, resized to the
    photo's shape, content 1. Lower is better in both. Measured with Gatys' layers (style relu1_1…relu5_1,
    content relu4_2, scale-free terms), not with a training loss, so that it judges a result instead of
    repeating what the result was fitted to."""
    same_shape = torch.nn.functional.interpolate(painting, size=photo.shape[-2:], mode="bilinear",
                                                 align_corners=False)
    loss = Objective().loss(model, photo, [painting])
    terms = {name: loss(x) for name, x in (("image", image), ("photo", photo), ("painting", same_shape))}
    return {"style": float(terms["image"]["style"] / terms["photo"]["style"]),
            "content": float(terms["image"]["content"] / terms["painting"]["content"])}
