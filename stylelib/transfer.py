"""One optimization loop for stylization, texture synthesis and feature inversion.

`optimize` minimises any sum of named loss terms over an image; `stylize` builds the Gatys et al.
terms for it. Texture synthesis is `stylize` without content; feature inversion is `stylize`
without style. Pixels are kept in [0, 1] by a smooth penalty inside the loss, not by clamping
inside the L-BFGS closure (clamping there hides the step from L-BFGS and corrupts its history).
"""
import math
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from . import images, runtime, speed
from .errors import ImageError, ResourceError, SettingsError
from .features import VGGFeatures, vgg
from .losses import TV, content_loss, gram_matrix, range_penalty, style_loss
from .settings import choice, number, validate

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise", "style")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
RANGE_WEIGHT = 1e4
# Feature magnitudes depend on the weights' input convention (Caffe's 0–255 inputs give features
# ~50× larger than torchvision's normalised ones), so a balanced style weight does too. The Caffe
# value was tuned here on vgg16-hed; the torchvision one follows from the PyTorch tutorial's
# setting (style 1e6 with Grams divided by N·M) rewritten in this module's normalisation.
DEFAULT_STYLE_WEIGHT = {"caffe": 1e-2, "torchvision": 1e2}


@dataclass
class Result:
    """The best image found and, per step, every loss term (weighted), their sum and the time."""

    image: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    stopped: str | None = None  # None (ran all steps), "callback", "interrupted" or "non-finite"

    @property
    def steps(self) -> int:
        return len(self.seconds)

    def final(self, term: str = "total") -> float:
        return self.history[term][-1]


def make_optimizer(name: str, params, lr: float | None, options: dict | None = None):
    choice("optimizer", name, OPTIMIZERS)
    lr = DEFAULT_LR[name] if lr is None else number("lr", lr, strict_low=True)
    if name == "lbfgs":
        # One evaluation per step, history kept across steps. The run ends after `steps`, not when
        # gradients get small: losses here are means over pixels, so per-pixel gradients can fall
        # below L-BFGS's default tolerances (1e-7) long before the picture stops improving.
        defaults = {"lr": lr, "max_iter": 1, "history_size": 50, "tolerance_grad": 0.0, "tolerance_change": 0.0}
        return torch.optim.LBFGS(params, **{**defaults, **(options or {})})
    return torch.optim.Adam(params, lr=lr, **(options or {}))  # options: e.g. betas, eps of a recipe


def optimize(image, loss_fn, steps: int, optimizer: str = "lbfgs", lr: float | None = None,
             callback=None, every: int = 10, progress: bool = True, desc: str = "optimizing",
             optimizer_options: dict | None = None) -> Result:
    """Minimise sum(loss_fn(x).values()) over the pixels x, starting from `image`.

    `loss_fn(x)` returns a dict of named, already weighted terms. `callback(step, image, result)`
    runs every `every` steps with a copy of the current image; returning True stops the run.
    Stops early on a non-finite loss or Ctrl-C; either way the best image so far is returned.
    """
    steps = validate(steps=steps)["steps"]
    x = image.detach().clone().requires_grad_(True)
    opt = make_optimizer(optimizer, [x], lr, optimizer_options)
    result = Result(image=image.detach().clone().clamp(0, 1))
    best, start = math.inf, time.perf_counter()

    def closure():
        nonlocal best
        opt.zero_grad(set_to_none=True)
        terms = loss_fn(x)
        total = sum(terms.values())
        # one device-to-host copy per evaluation, not one per term
        values = dict(zip([*terms, "total"], torch.stack([*terms.values(), total]).detach().tolist()))
        if not math.isfinite(values["total"]):
            raise FloatingPointError
        total.backward()
        for name, value in values.items():
            result.history.setdefault(name, []).append(value)
        result.seconds.append(time.perf_counter() - start)
        if values["total"] < best:  # the loss belongs to x before this step's update
            best = values["total"]
            result.image = x.detach().clamp(0, 1).clone()
        return total

    bar = tqdm(range(steps), desc=desc, disable=not progress, leave=False)
    try:
        for step in bar:
            opt.step(closure)
            bar.set_postfix(loss=f"{result.history['total'][-1]:.4g}", refresh=False)
            if callback and (step + 1) % every == 0 and callback(step + 1, x.detach().clamp(0, 1).clone(), result):
                result.stopped = "callback"
                break
    except FloatingPointError:
        result.stopped = "non-finite"
        print(f"stopped at step {result.steps + 1}: the loss became NaN or infinite "
              "(learning rate or weights too large?); returning the last finite image")
    except KeyboardInterrupt:
        result.stopped = "interrupted"
        print(f"interrupted after {result.steps} steps: returning the best image so far")
    finally:
        bar.close()
    return result


def _as_image(image, size: int, label: str, min_side: int) -> torch.Tensor:
    """`images.as_image`, refusing an image too thin for the chosen layers (named by `label` or its path)."""
    label = label if isinstance(image, torch.Tensor) else str(image)
    image = images.as_image(image, size)
    if min(image.shape[-2:]) < min_side:
        h, w = image.shape[-2:]
        raise ImageError(f"{label} is {w}×{h} px at size {size}: too thin for the chosen layers, which need "
                         f"at least {min_side} px on each side (use a larger size or a less elongated image)")
    return image


def initial_image(init: str, content_image, style_image, shape, seed: int | None) -> torch.Tensor:
    """The starting point: the content photo, seeded noise around grey, the style image resized,
    or a given image tensor resized (e.g. a coarser result, for coarse-to-fine multi-scale)."""
    if isinstance(init, torch.Tensor):
        init = init.unsqueeze(0) if init.dim() == 3 else init
        return images.resize_tensor(init.float(), shape[-2:]).clamp(0, 1)
    choice("init", init, INITS)
    if init == "content" and content_image is not None:
        return content_image.clone()
    if init == "style" and style_image is not None:
        return images.resize_tensor(style_image, shape[-2:])
    generator = torch.Generator().manual_seed(0 if seed is None else seed)
    return (0.5 + 0.1 * torch.randn(shape, generator=generator)).clamp(0, 1)


def stylize(content=None, style=None, *, size: int | None = None, steps: int | None = None,
            content_weight: float = 1.0, style_weight: float | None = None, tv_weight: float = 0.0,
            tv: str = "isotropic", content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
            layer_weights: dict | None = None, optimizer: str = "lbfgs", lr: float | None = None,
            init="content", seed: int | None = 0, style_scale: float = 1.0,
            style_blend=None, style_masks=None, optimizer_options: dict | None = None,
            backbone: str = "auto", pooling: str = "max", model: VGGFeatures | None = None,
            device=None, callback=None, every: int = 10, progress: bool = True) -> Result:
    """Gatys et al. style transfer: match `content`'s features and `style`'s Gram matrices.

    `content` / `style` are tensors, file paths or names of images in data/. Without `content`
    it synthesises a texture (size taken from the style); without `style` it inverts the
    content features. Sizes are long sides in pixels; quick mode picks small defaults.
    `style_weight=None` takes the balanced default for the network's input convention.
    `style` may be a list of images: their style terms are mixed with the weights `style_blend`
    (normalised to sum 1; equal by default), and `style_masks` (one mask in [0, 1] per style, or
    None for the whole image) confines each style to a region (see `losses.masked_gram_matrix`).
    `init` may also be an image tensor; `optimizer_options` go to the optimizer (e.g. Adam's betas).
    """
    if content is None and style is None:
        raise SettingsError("give a content image, a style image, or both")
    size = runtime.pick(512, 128) if size is None else size
    steps = runtime.pick(300, 30) if steps is None else steps
    checked = validate(size=size, steps=steps, content_weight=content_weight, style_weight=style_weight,
                       tv_weight=tv_weight, lr=lr, style_scale=style_scale, seed=seed, every=every)
    choice("TV variant", tv, TV)
    choice("optimizer", optimizer, OPTIMIZERS)
    if not isinstance(init, torch.Tensor):
        choice("init", init, INITS)
    styles = list(style) if isinstance(style, (list, tuple)) else [] if style is None else [style]
    blend, masks = _style_mix(len(styles), style_blend, style_masks)
    dev = runtime.device(device) if not isinstance(device, torch.device) else device
    model = (model or vgg(backbone, pooling, dev, verbose=False)).to(dev)
    if style_weight is None:
        style_weight = DEFAULT_STYLE_WEIGHT[model.normalize.convention]
    content_layers = model.check_layers(content_layers) if content is not None else []
    style_layers = model.check_layers(style_layers) if style is not None else []
    if layer_weights is not None:
        model.check_layers(layer_weights)
    min_side = model.min_side([*content_layers, *style_layers])
    try:
        content_image = _as_image(content, size, "content", min_side).to(dev) if content is not None else None
        style_images = [_as_image(image, round(size * style_scale), "style", min_side).to(dev) for image in styles]
        style_image = style_images[0] if style_images else None
        shape = content_image.shape if content_image is not None else (
            1, 3, *images.resize_tensor(style_image, size).shape[-2:])
        with torch.no_grad():
            content_targets = model(content_image, content_layers) if content_layers else {}
            style_targets = [{k: gram_matrix(v) for k, v in model(image, style_layers).items()}
                             for image in style_images] if style_layers else []
        masks = [None if m is None else m.to(dev) for m in masks]
        weights = layer_weights if layer_weights is not None else {name: 1 / len(style_layers) for name in style_layers}

        features = speed.feature_fn(model, dev)

        def loss_fn(x):
            feats = features(x, [*content_layers, *style_layers])
            terms = {}
            if content_layers:
                terms["content"] = checked["content_weight"] * sum(
                    content_loss(feats[n], content_targets[n]) for n in content_layers)
            if style_layers:
                terms["style"] = style_weight * sum(share * style_loss(feats, targets, weights, mask) for share, targets, mask
                                                    in zip(blend, style_targets, masks) if share)
            if tv_weight:
                terms["tv"] = checked["tv_weight"] * TV[tv](x)
            terms["range"] = RANGE_WEIGHT * range_penalty(x)
            return terms

        start = initial_image(init, content_image, style_image, shape, seed).to(dev)
        return optimize(start, loss_fn, steps, optimizer, lr, callback, every, progress,
                        optimizer_options=optimizer_options)
    except (torch.OutOfMemoryError, MemoryError):
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        smaller = max(16, int(size / 2**0.5) // 16 * 16)
        raise ResourceError(f"out of memory on {dev} at size {size} px: try size {smaller} "
                            "(memory grows with the number of pixels), or multi-scale") from None


def _style_mix(count: int, blend, masks):
    """Checked blend weights (scaled to sum 1) and one mask (or None) per style."""
    blend = [1.0] * count if blend is None else [number("style_blend weight", w) for w in blend]
    masks = [None] * count if masks is None else list(masks)
    if len(blend) != count or len(masks) != count:
        raise SettingsError(f"got {count} style image(s) but {len(blend)} style_blend weight(s) and {len(masks)} mask(s)")
    if count and sum(blend) == 0:
        raise SettingsError("style_blend weights are all 0: give at least one positive weight")
    for mask in masks:
        if mask is not None and not (isinstance(mask, torch.Tensor) and mask.dim() >= 2 and mask.numel()
                                     and 0 <= float(mask.min()) and float(mask.max()) <= 1):
            raise SettingsError("each style mask must be a tensor (H, W) with values in [0, 1], or None")
    total = sum(blend)
    return [w / total for w in blend], masks


def synthesize_texture(style, **settings) -> Result:
    """Texture synthesis: only the style term, starting from noise (Gatys et al. 2015)."""
    settings.setdefault("init", "noise")
    return stylize(None, style, **settings)


def invert_features(content, layer: str = "relu4_2", **settings) -> Result:
    """Feature inversion: find an image whose `layer` features match `content`'s, from noise."""
    settings.setdefault("init", "noise")
    return stylize(content, None, content_layers=(layer,), **settings)
