"""One optimization loop for stylization, texture synthesis and feature inversion.

`optimize` minimises any sum of named loss terms over an image; `stylize` builds the Gatys et al.
terms for it from an `Objective` (what to match) and runs it as a `Run` says (how to optimise).
Texture synthesis is `stylize` without content; feature inversion is `stylize` without style.
Pixels are kept in [0, 1] by a smooth penalty inside the loss, not by clamping inside the L-BFGS
closure (clamping there hides the step from L-BFGS and corrupts its history).
"""
import contextlib
import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from . import images, runtime, precision
from .basis import BASES
from .errors import ImageError, ResourceError, SettingsError
from .features import VGGFeatures, vgg
from .objective import FIELDS as OBJECTIVE_FIELDS
from .objective import Objective
from .validation import choice, number, validate

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise", "style")
# "fast": with L-BFGS, the pyramid basis (stylelib.basis), a sized first step and capped steps, with the
# speed switches in force (stylelib.precision: bf16 convolutions on CPUs with native bf16); reaches the bench's
# target 3.3× sooner than the tutorial loop at 256² on the CPU, 2× at 512² (bench/README.md).
# "plain": the textbook loop notebook 03 writes by hand (pixels, torch's own first step, fp32).
SCHEDULES = ("fast", "plain")
FIRST_STEP = 0.05  # the fast schedule's largest pixel change in the first L-BFGS step (sized_first_step)
MAX_CHANGE = 0.2  # the fast schedule's largest pixel change in any later L-BFGS step (capped_step)
RAMP_START = 0.1  # Run.style_ramp: the style term's weight starts at this fraction of itself (ramp_weight)
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}


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
             optimizer_options: dict | None = None, basis: str = "pixels", first_step: float | None = None,
             max_change: float | None = None, style_ramp: int = 0) -> Result:
    """Minimise sum(loss_fn(x).values()) over the pixels x, starting from `image`.

    `loss_fn(x)` returns a dict of named, already weighted terms. `callback(step, image, result)`
    runs every `every` steps with a copy of the current image; returning True stops the run.
    Stops early on a non-finite loss or Ctrl-C; either way the best image so far is returned.
    `basis`: what the optimizer moves, "pixels" or "pyramid" (stylelib.basis). `first_step`: with
    L-BFGS, the largest change of a pixel in the first step (None: torch's rule, see `sized_first_step`);
    `max_change`: with L-BFGS, the largest change of a pixel in any later step (None: no cap, see `capped_step`).
    `style_ramp`: minimise a "style" term weighted by `ramp_weight` over the first `style_ramp` evaluations;
    the history, and the choice of the best image, keep the full objective.
    """
    steps = validate(steps=steps)["steps"]
    x = BASES[choice("basis", basis, BASES)](image)
    opt = make_optimizer(optimizer, x.params, lr, optimizer_options)
    result = Result(image=image.detach().clone().clamp(0, 1))
    best, start = math.inf, time.perf_counter()

    def closure():
        nonlocal best
        opt.zero_grad(set_to_none=True)
        current = x.image()
        terms = loss_fn(current)
        total = sum(terms.values())
        # one device-to-host copy per evaluation, not one per term
        values = dict(zip([*terms, "total"], torch.stack([*terms.values(), total]).detach().tolist()))
        if not math.isfinite(values["total"]):
            raise FloatingPointError
        weight = ramp_weight(len(result.seconds), style_ramp) if "style" in terms else 1.0
        minimised = total + (weight - 1) * terms["style"] if weight != 1 else total
        minimised.backward()
        for name, value in values.items():
            result.history.setdefault(name, []).append(value)
        result.seconds.append(time.perf_counter() - start)
        if values["total"] < best:  # the loss belongs to the image before this step's update
            best = values["total"]
            result.image = current.detach().clamp(0, 1).clone()
        return minimised

    bar = tqdm(range(steps), desc=desc, disable=not progress, leave=False)
    try:
        for step in bar:
            if step == 0 and first_step and optimizer == "lbfgs":
                sized_first_step(opt, x, closure, first_step)
            elif max_change and optimizer == "lbfgs":
                capped_step(opt, x, closure, max_change)
            else:
                opt.step(closure)
            bar.set_postfix(loss=f"{result.history['total'][-1]:.4g}", refresh=False)
            if callback and (step + 1) % every == 0 and callback(step + 1, x.image().detach().clamp(0, 1).clone(), result):
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


def sized_first_step(opt, x, closure, largest: float) -> None:
    """L-BFGS's first step, scaled so that no pixel changes by more than `largest`.

    torch's L-BFGS has no curvature yet at step 1, so it steps along -g by 1/‖g‖₁: on a 256² image
    a change of about 1e-5 per pixel, an evaluation spent learning almost nothing. A first step of a
    visible size (5% of the range) saved about ten evaluations to the bench's target (bench/README.md).
    It does not stop the second step from overshooting (one curvature pair is a poor model of this
    loss): `capped_step` does. Evaluation 1 is reused for the step, so this costs no evaluation.
    """
    loss = closure()
    grads = [p.grad for p in x.params]
    scale = min(1.0, 1.0 / max(sum(float(g.abs().sum()) for g in grads), 1e-30))  # torch's first step
    with torch.no_grad():
        moved = float(x.change([scale * g for g in grads]).abs().max())
    group = opt.param_groups[0]
    lr, served = group["lr"], [loss]
    if moved > 0:
        group["lr"] = lr * largest / moved
    try:
        opt.step(lambda: served.pop() if served else closure())
    finally:
        group["lr"] = lr


def capped_step(opt, x, closure, largest: float) -> None:
    """One L-BFGS step, shortened along its direction if it would change a pixel by more than `largest`.

    Without a line search, L-BFGS takes the step its curvature model proposes. At step 2 that model
    rests on one curvature pair, and here it overshoots: the loss jumped 10–1000× (in the textbook
    loop too), and the image it jumped to was the start of every later step. A cap, like a trust
    region's radius, stops that; later steps are smaller and rarely reach it. The optimizer's record
    of the step's length (its state "t") is shortened too, so the next curvature pair is made from the
    step actually taken. bench/README.md has what it saves.
    """
    before = [p.detach().clone() for p in x.params]
    opt.step(closure)
    with torch.no_grad():
        steps = [p - b for p, b in zip(x.params, before)]
        moved = float(x.change(steps).abs().max())
        if moved > largest:
            keep = largest / moved
            for p, b, s in zip(x.params, before, steps):
                p.copy_(b + keep * s)
            opt.state[opt.param_groups[0]["params"][0]]["t"] *= keep


def ramp_weight(evaluation: int, ramp: int) -> float:
    """The style term's weight factor at `evaluation` (counted from 0) of a ramp over `ramp` evaluations.

    On the bench's raw objective, the full style weight drags the image far from the photo in the first
    steps (the content term went from 0 to 13 at 256², then took a hundred evaluations to come back to 7),
    and that slow return, a feature inversion, dominates the time to a good picture. Growing the style
    weight geometrically from RAMP_START to 1 keeps the image nearer the photo: 186 → 129 evaluations to
    the 256² target, 270 → 200 at 512². It does not pay in general: not on the default scale-free
    objective (its first steps are small anyway; cat at 256², 100 steps: 0.3373 with a ramp of 33, 0.3335
    without), nor on two other pairs with the raw one (one a wash, one worse). So it is opt-in,
    `Run.style_ramp`, for experiments (bench/README.md).
    """
    return 1.0 if evaluation >= ramp else RAMP_START ** (1 - evaluation / ramp)


def image_for(image, size: int, label: str, min_side: int) -> torch.Tensor:
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


@dataclass(frozen=True)
class Run:
    """How to optimise: the optimizer and its settings, the starting image, how often to report."""

    optimizer: str = "lbfgs"
    lr: float | None = None  # None: DEFAULT_LR of the optimizer
    optimizer_options: Mapping | None = None  # e.g. Adam's betas and eps of a recipe
    init: object = "content"  # "content", "noise", "style", or an image tensor (coarse-to-fine)
    seed: int | None = 0  # for init="noise"
    every: int = 10  # callback every this many steps
    schedule: str = "fast"  # "fast" or "plain" (SCHEDULES)
    style_ramp: int = 0  # fast L-BFGS from the photo: evaluations over which the style weight grows (ramp_weight)

    def __post_init__(self):
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("schedule", self.schedule, SCHEDULES)
        if not isinstance(self.init, torch.Tensor):
            choice("init", self.init, INITS)
        validate(lr=self.lr, seed=self.seed, every=self.every, style_ramp=self.style_ramp)

    def replace(self, **changes) -> "Run":
        return dataclasses.replace(self, **changes)


RUN_FIELDS = tuple(f.name for f in dataclasses.fields(Run))


def split_settings(objective: Objective | None, run: Run | None, changes: dict) -> tuple[Objective, Run]:
    """Apply keyword settings to the objective or the run, by name; None means "the default"."""
    changes = {name: value for name, value in changes.items() if value is not None}
    unknown = sorted(set(changes) - set(OBJECTIVE_FIELDS) - set(RUN_FIELDS))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}: valid are "
                            f"{', '.join(OBJECTIVE_FIELDS + RUN_FIELDS)}, size, steps, model, device")
    objective = (objective or Objective()).replace(**{k: v for k, v in changes.items() if k in OBJECTIVE_FIELDS})
    run = (run or Run()).replace(**{k: v for k, v in changes.items() if k in RUN_FIELDS})
    return objective, run


def network(model: VGGFeatures | str | None, device) -> tuple[VGGFeatures, torch.device]:
    """The VGG to measure with (given, or loaded for a backbone name) and the device it runs on."""
    dev = runtime.device(device)
    if not isinstance(model, VGGFeatures):
        model = vgg(model or "auto", device=dev, verbose=False)
    return model.to(dev), dev


def stylize(content=None, style=None, objective: Objective | None = None, *, size: int | None = None,
            steps: int | None = None, run: Run | None = None, model: VGGFeatures | str | None = None,
            device=None, callback=None, progress: bool = True, **settings) -> Result:
    """Gatys et al. style transfer: match `content`'s features and `style`'s Gram matrices.

    `content` / `style` are tensors, file paths or names of images in data/ (`style` may be a list,
    mixed as `Objective.style_blend` and `style_masks` say). Without `content` it synthesises a
    texture (size taken from the style); without `style` it inverts the content features. Sizes are
    long sides in pixels (each tier has its defaults, runtime.DEFAULTS). `model` is a VGGFeatures or a backbone
    name. Any field of `Objective` (content_weight, style_weight, tv_weight, style_layers, …) or of
    `Run` (optimizer, lr, init, seed, every, schedule, …) can be given as a keyword: it changes that field;
    `schedule="plain"` runs the textbook loop instead of the faster default (SCHEDULES).
    `callback(step, image, result)` runs every `run.every` steps; returning True stops the run.
    """
    if content is None and style is None:
        raise SettingsError("give a content image, a style image, or both")
    objective, run = split_settings(objective, run, settings)
    size, steps = runtime.default("size", size), runtime.default("steps", steps)
    validate(size=size, steps=steps)
    styles = list(style) if isinstance(style, (list, tuple)) else [] if style is None else [style]
    model, dev = network(model, device)
    layers = [*(objective.content_layers if content is not None else ()), *(objective.style_layers if styles else ())]
    min_side = model.min_side(model.check_layers(layers))
    try:
        content_image = image_for(content, size, "content", min_side).to(dev) if content is not None else None
        style_images = [image_for(image, round(size * objective.style_scale), "style", min_side).to(dev)
                        for image in styles]
        fast = run.schedule == "fast"
        with contextlib.nullcontext() if fast else precision.options(bf16=False):
            features = precision.feature_fn(model, dev)
        loss = objective.loss(model, content_image, style_images, features=features)
        shape = content_image.shape if content_image is not None else (
            1, 3, *images.resize_tensor(style_images[0], size).shape[-2:])
        style_image = style_images[0] if style_images else None
        start = initial_image(run.init, content_image, style_image, shape, run.seed).to(dev)
        pyramid = fast and run.optimizer == "lbfgs"
        from_photo = content_image is not None and styles and isinstance(run.init, str) and run.init == "content"
        return optimize(start, loss, steps, run.optimizer, run.lr, callback, run.every, progress,
                        optimizer_options=dict(run.optimizer_options or {}) or None,
                        basis="pyramid" if pyramid else "pixels", first_step=FIRST_STEP if pyramid else None,
                        max_change=MAX_CHANGE if pyramid else None,
                        style_ramp=run.style_ramp if pyramid and from_photo else 0)
    except (torch.OutOfMemoryError, MemoryError):
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        smaller = max(16, int(size / 2**0.5) // 16 * 16)
        raise ResourceError(f"out of memory on {dev} at size {size} px: try size {smaller} "
                            "(memory grows with the number of pixels), or multi-scale") from None


def synthesize_texture(style, **settings) -> Result:
    """Texture synthesis: only the style term, starting from noise (Gatys et al. 2015)."""
    settings.setdefault("init", "noise")
    return stylize(None, style, **settings)


def invert_features(content, layer: str = "relu4_2", **settings) -> Result:
    """Feature inversion: find an image whose `layer` features match `content`'s, from noise."""
    settings.setdefault("init", "noise")
    return stylize(content, None, content_layers=(layer,), **settings)
