"""The optimization loop, and style transfer built on it.

`optimize` is the loop notebook 03 writes by hand: evaluate the loss, take a step, keep the best image.
`stylize` builds the Gatys et al. terms for it from an `Objective` (what to match) and runs it as a
`Run` says (how to optimise). Texture synthesis is `stylize` without content; feature inversion is
`stylize` without style. Pixels are kept in [0, 1] by a smooth penalty inside the loss, not by clamping
inside the L-BFGS closure (clamping there hides the step from L-BFGS and corrupts its history).
"""
import contextlib
import dataclasses
import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from . import images, precision, runtime
from .errors import ResourceError, SettingsError
from .features import VGGFeatures, vgg_for
from .objective import FIELDS as OBJECTIVE_FIELDS
from .objective import Objective
from .parameterization import Pixels, Pyramid
from .validation import choice, described, validate

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise", "style")
# "pyramid": L-BFGS on a pyramid of corrections with a sized first step and capped steps
# (stylelib.parameterization), and bf16 convolutions on CPUs that have them (stylelib.precision): the default,
# because it reaches a good picture sooner (bench/README.md). "plain": the textbook loop of notebook 03.
SCHEDULES = ("pyramid", "plain")
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


def make_optimizer(name: str, params, lr: float | None = None, options: Mapping | None = None):
    """A torch optimizer by name, with DEFAULT_LR unless `lr` is given; `options`, e.g. Adam's betas of a recipe."""
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "lbfgs":
        # One evaluation per step, history kept across steps. The run ends after `steps`, not when
        # gradients get small: losses here are means over pixels, so per-pixel gradients can fall
        # below L-BFGS's default tolerances (1e-7) long before the picture stops improving.
        defaults = {"lr": lr, "max_iter": 1, "history_size": 50, "tolerance_grad": 0.0, "tolerance_change": 0.0}
        return torch.optim.LBFGS(params, **{**defaults, **(options or {})})
    return torch.optim.Adam(params, lr=lr, **(options or {}))


def optimize(image, loss_fn, steps: int, optimizer="lbfgs", lr: float | None = None,
             parameterization=Pixels, callback=None, progress: bool = True) -> Result:
    """Minimise sum(loss_fn(x).values()) over the image x, starting from `image`.

    `loss_fn(x)` returns a dict of named, already weighted terms. `optimizer` is "lbfgs" or "adam"
    (with `lr`, or DEFAULT_LR), or a function that makes a torch optimizer from a list of parameters.
    `parameterization` is what the optimizer moves and how far a step may go: `Pixels` (the textbook
    loop) or `Pyramid` (stylelib.parameterization). `callback(step, image, result)` runs after every
    step with a copy of the current image; returning True stops the run. Stops early on a non-finite
    loss or Ctrl-C; either way the best image so far is returned.
    """
    steps = validate(steps=steps)["steps"]
    x = parameterization(image)
    if callable(optimizer):
        opt = optimizer(x.params)
    else:
        opt = make_optimizer(choice("optimizer", optimizer, OPTIMIZERS), x.params, validate(lr=lr)["lr"])
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
        total.backward()
        for name, value in values.items():
            result.history.setdefault(name, []).append(value)
        result.seconds.append(time.perf_counter() - start)
        if values["total"] < best:  # the loss belongs to the image before this step's update
            best = values["total"]
            result.image = current.detach().clamp(0, 1).clone()
        return total

    bar = tqdm(range(steps), desc="optimizing", disable=not progress, leave=False)
    try:
        for step in bar:
            x.step(opt, closure)
            bar.set_postfix(loss=f"{result.history['total'][-1]:.4g}", refresh=False)
            if callback and callback(step + 1, x.image().detach().clamp(0, 1).clone(), result):
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


def initial_image(init, content_image, style_image, shape, seed: int | None) -> torch.Tensor:
    """The starting point: the content photo, seeded noise around grey, the style image resized,
    or a given image tensor resized (e.g. a coarser result, for coarse-to-fine multi-scale)."""
    if isinstance(init, torch.Tensor):
        init = init.unsqueeze(0) if init.dim() == 3 else init
        return images.resize_tensor(init.float(), shape[-2:]).clamp(0, 1)
    if init == "content" and content_image is not None:
        return content_image.clone()
    if init == "style" and style_image is not None:
        return images.resize_tensor(style_image, shape[-2:])
    generator = torch.Generator().manual_seed(0 if seed is None else seed)
    return (0.5 + 0.1 * torch.randn(shape, generator=generator)).clamp(0, 1)


@dataclass(frozen=True)
class Run:
    """How to optimise: the optimizer and its settings, the starting image, how often to report."""

    optimizer: str = described("lbfgs", "lbfgs or adam")
    lr: float | None = described(None, "the optimizer's learning rate; None: DEFAULT_LR of the optimizer")
    optimizer_options: Mapping | None = described(None, "more options of the optimizer, e.g. Adam's betas and eps")
    init: object = described("content", "the start: content, noise, style, or an image tensor (coarse-to-fine)")
    seed: int | None = described(0, "the seed of the noise for init=noise")
    every: int = described(10, "the callback runs every this many steps")
    schedule: str = described("pyramid", "pyramid: L-BFGS on a pyramid of corrections, sized and capped steps, "
                                         "bf16 where native (stylelib.parameterization; with adam, the pixels); "
                                         "plain: the textbook loop")

    def __post_init__(self):
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("schedule", self.schedule, SCHEDULES)
        if not isinstance(self.init, torch.Tensor):
            choice("init", self.init, INITS)
        validate(lr=self.lr, seed=self.seed, every=self.every)

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


def every_nth(callback, every: int):
    """`callback` called at steps every, 2·every, … only (None stays None)."""
    if callback is None or every == 1:
        return callback
    return lambda step, image, result: step % every == 0 and callback(step, image, result)


def stylize(content=None, style=None, objective: Objective | None = None, *, size: int | None = None,
            steps: int | None = None, run: Run | None = None, model: VGGFeatures | str | None = None,
            device=None, callback=None, progress: bool = True, **settings) -> Result:
    """Gatys et al. style transfer: match `content`'s features and `style`'s Gram matrices (or another statistic,
    `Objective.style_statistic`).

    `content` / `style` are tensors, file paths or names of images in data/ (`style` may be a list,
    mixed as `Objective.style_blend` and `style_masks` say). Without `content` it synthesises a
    texture (size taken from the style); without `style` it inverts the content features. Sizes are
    long sides in pixels (each tier has its defaults, runtime.DEFAULTS). `model` is a VGGFeatures or a backbone
    name. Any field of `Objective` (content_weight, style_weight, tv_weight, style_layers, …) or of
    `Run` (optimizer, lr, init, seed, every, schedule, …) can be given as a keyword: it changes that field;
    `schedule="plain"` runs the textbook loop instead of the default pyramid schedule (SCHEDULES).
    `callback(step, image, result)` runs every `run.every` steps; returning True stops the run.
    """
    if content is None and style is None:
        raise SettingsError("give a content image, a style image, or both")
    objective, run = split_settings(objective, run, settings)
    size, steps = runtime.default("size", size), runtime.default("steps", steps)
    validate(size=size, steps=steps)
    styles = list(style) if isinstance(style, (list, tuple)) else [] if style is None else [style]
    model, dev = vgg_for(model, device)
    layers = [*(objective.content_layers if content is not None else ()), *(objective.style_layers if styles else ())]
    min_side = model.min_side(model.check_layers(layers))
    try:
        content_image = images.image_for(content, size, "content", min_side).to(dev) if content is not None else None
        style_images = [images.image_for(image, round(size * objective.style_scale), "style", min_side).to(dev)
                        for image in styles]
        with contextlib.nullcontext() if run.schedule == "pyramid" else precision.options(bf16=False):
            features = precision.feature_fn(model, dev)
        loss = objective.loss(model, content_image, style_images, features=features)
        shape = content_image.shape if content_image is not None else (
            1, 3, *images.resize_tensor(style_images[0], size).shape[-2:])
        style_image = style_images[0] if style_images else None
        start = initial_image(run.init, content_image, style_image, shape, run.seed).to(dev)
        optimizer = functools.partial(make_optimizer, run.optimizer, lr=run.lr, options=run.optimizer_options)
        pyramid = run.schedule == "pyramid" and run.optimizer == "lbfgs"  # its step sizes are L-BFGS's
        return optimize(start, loss, steps, optimizer, parameterization=Pyramid if pyramid else Pixels,
                        callback=every_nth(callback, run.every), progress=progress)
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
