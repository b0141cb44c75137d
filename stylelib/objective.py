r"""The Gatys et al. objective, written once: an `Objective` says what to match, a `Loss` measures it.

$$\mathcal{L}(x) = \alpha \sum_{l \in C} \mathcal{L}^l_\text{content}(x, p)
  + \beta \sum_{s} b_s \sum_{l \in S} w_l\, \ell_l(x, a_s) + \lambda_\text{TV}\, \mathrm{TV}(x)$$

`Objective` holds the symbols (layers $C$, $S$, weights $w_l$, $\alpha$, $\beta$, $\lambda_\text{TV}$,
blend $b_s$, masks, and the style statistic that $\ell_l$ compares: the Gram matrix by default, see
`stylelib.statistics`); `Objective.loss(model, content, styles)` measures the targets once and returns a
`Loss`, a function of the pixels that gives the named, weighted terms. `stylize`, multi-scale,
`fast.train`, the presets and the playground all build their loss here. A preset is an
`Objective` with its source's numbers.

Departure from the paper: by default (`scale_free=True`) each content layer's term is divided by its
target's mean square and each style layer's by its target Gram matrix's (see `stylelib.losses`). Then
the terms, and so the balanced default weights below, do not depend on the network's feature scale
(Caffe-convention weights give features ~50× larger than torchvision's); the presets turn it off to
keep their sources' numbers.
"""
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch

from .errors import SettingsError
from .losses import TV, content_loss, range_penalty
from .statistics import STATISTICS
from .validation import choice, described, number, validate

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
# β/α for the scale-free terms: strong enough to repaint the surface, weak enough to keep the layout.
# Notebook 03 shows the range from photo to texture around it.
STYLE_WEIGHT = 3.0
RANGE_WEIGHT = 1e4  # the smooth wall that keeps pixels in [0, 1] (losses.range_penalty)
RAMP_START = 0.1  # Objective.style_ramp: the style term's weight starts at this fraction of itself (ramp_weight)


def _layers(name: str, layers) -> tuple:
    layers = (layers,) if isinstance(layers, str) else tuple(layers)
    if not layers:
        raise SettingsError(f"{name} is empty: name at least one layer (e.g. relu4_2), "
                            "or leave out the content/style image instead")
    return layers


@dataclass(frozen=True, eq=False)
class Objective:
    """What the picture should match. Every field has the paper's meaning; `replace` makes variants."""

    content_layers: tuple = described(CONTENT_LAYERS, "the layers whose features the picture keeps from the photo (C)")
    style_layers: tuple = described(STYLE_LAYERS, "the layers whose Gram matrices it takes from the painting (S)")
    layer_weights: Mapping | None = described(None, "w_l per style layer; None: equal, 1/L")
    content_weight: float = described(1.0, "α, the weight of the content term")
    style_weight: float = described(STYLE_WEIGHT, "β, the weight of the style term")
    tv_weight: float = described(0.0, "λ_TV, the weight of the total variation")
    tv: str = described("isotropic", "which total variation (losses.TV)")
    scale_free: bool = described(True, "each term divided by its target's magnitude (module docstring)")
    style_scale: float = described(1.0, "the style image's size relative to the content's")
    style_blend: tuple | None = described(None, "b_s per style image (scaled to sum 1); None: equal")
    style_masks: tuple | None = described(None, "per style image, a mask (H, W) in [0, 1] or None")
    style_ramp: int = described(0, "evaluations over which the style weight grows from a tenth to its full value "
                                   "(ramp_weight); 0: no ramp")
    style_statistic: str = described("gram", "what each style layer matches: gram (Gatys et al.), mean_std, "
                                             "mean_cov or sliced (stylelib.statistics)")

    def __post_init__(self):
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        fix("content_layers", _layers("content_layers", self.content_layers))
        fix("style_layers", _layers("style_layers", self.style_layers))
        checked = validate(content_weight=self.content_weight, style_weight=self.style_weight,
                           tv_weight=self.tv_weight, style_scale=self.style_scale,
                           style_ramp=self.style_ramp)
        if checked["style_weight"] is None:
            raise SettingsError("style_weight must be a finite number, got None")
        for name, value in checked.items():
            fix(name, value)
        choice("TV variant", self.tv, TV)
        choice("style statistic", self.style_statistic, STATISTICS)
        if self.layer_weights is not None:
            if not isinstance(self.layer_weights, Mapping):
                raise SettingsError(f"layer_weights must map style layer names to numbers, got {self.layer_weights!r}")
            extra = [name for name in self.layer_weights if name not in self.style_layers]
            if extra:
                raise SettingsError(f"layer_weights names {', '.join(map(repr, extra))}, not among the style layers "
                                    f"({', '.join(self.style_layers)}): add it to style_layers or drop its weight")
            fix("layer_weights", MappingProxyType({k: number(f"layer weight of {k}", w)
                                                   for k, w in self.layer_weights.items()}))
        for name in ("style_blend", "style_masks"):
            value = getattr(self, name)
            fix(name, None if value is None else tuple(value))
        if not STATISTICS[self.style_statistic].masks and any(m is not None for m in self.style_masks or ()):
            raise SettingsError(f"style_statistic {self.style_statistic!r} cannot take style_masks: choose "
                                f"{' or '.join(n for n, stat in STATISTICS.items() if stat.masks)}, or leave out the masks")

    def replace(self, **changes) -> "Objective":
        """A copy with some fields changed; an unknown name gets the list of valid ones."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise SettingsError(f"unknown objective setting(s) {', '.join(unknown)}: valid are {', '.join(FIELDS)}")
        return dataclasses.replace(self, **changes)

    def weights(self) -> dict:
        """w_l for every style layer: the given ones, or 1/L each."""
        if self.layer_weights is not None:
            return dict(self.layer_weights)
        return {name: 1 / len(self.style_layers) for name in self.style_layers}

    def loss(self, model, content=None, styles=(), **options) -> "Loss":
        """Measure the targets on `model` and return the loss as a function of the pixels (options: see `Loss`)."""
        return Loss(self, model, content, styles, **options)


FIELDS = tuple(f.name for f in dataclasses.fields(Objective))


def ramp_weight(evaluation: int, ramp: int) -> float:
    """The style term's weight factor at `evaluation` (counted from 0) of a ramp over `ramp` evaluations.

    Growing the style weight geometrically from RAMP_START to 1 keeps the image near the photo in the
    first steps, where the full weight drags it far away and the way back (a feature inversion) is slow.
    It paid on the benchmark's raw objective and not in general, so it is opt-in (bench/README.md).
    """
    return 1.0 if evaluation >= ramp else RAMP_START ** (1 - evaluation / ramp)


def style_mix(count: int, blend, masks):
    """Checked blend weights (scaled to sum 1) and one mask (or None) per style image."""
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


class Loss:
    """An objective measured on its targets. `loss(x)` gives the named, weighted terms (batch mean);
    `loss.per_image(x)` one value per image, so a batch can hold independent problems.

    Without `content` there is no content term (texture synthesis), unless `content_per_call`: then
    each call brings its own photos (feed-forward training). `keep_in_range` adds the range penalty;
    `features` replaces `model`'s forward (e.g. `precision.feature_fn`: same values, faster)."""

    def __init__(self, objective: Objective, model, content=None, styles=(), features=None,
                 keep_in_range: bool = True, content_per_call: bool = False):
        self.objective, self.model, self.keep_in_range = objective, model, keep_in_range
        self.evaluations = 0  # calls so far, for the style ramp
        self.features = features or model
        has_content = content is not None or content_per_call
        self.content_layers = model.check_layers(objective.content_layers) if has_content else []
        self.style_layers = model.check_layers(objective.style_layers) if len(styles) else []
        self.blend, masks = style_mix(len(styles), objective.style_blend, objective.style_masks)
        self.layer_weights = objective.weights()  # w_l, fixed for the whole run
        device = next(model.parameters()).device
        self.masks = [None if mask is None else mask.to(device) for mask in masks]
        self.content_targets = self.measure(content) if content is not None else {}
        self.statistic = STATISTICS[objective.style_statistic]
        with torch.no_grad():
            self.style_targets = [{k: self.statistic.target(v) for k, v in model(image, self.style_layers).items()}
                                  for image in styles]

    @property
    def layers(self) -> list[str]:
        return [*self.content_layers, *self.style_layers]

    @torch.no_grad()
    def measure(self, content: torch.Tensor) -> dict:
        """The content targets P^l of a photo (or a batch of them)."""
        return self.model(content, self.content_layers)

    def per_image(self, x: torch.Tensor, content_targets: dict | None = None) -> dict:
        """Each term as a (B,) tensor: content, style, tv (if λ_TV > 0), range (if kept in range)."""
        o, feats = self.objective, self.features(x, self.layers)
        targets = self.content_targets if content_targets is None else content_targets
        terms = {}
        if self.content_layers:
            terms["content"] = o.content_weight * sum(content_loss(feats[n], targets[n], o.scale_free, per_image=True)
                                                      for n in self.content_layers)
        if self.style_layers:
            terms["style"] = o.style_weight * sum(
                share * sum(w * self.statistic.loss(feats[name], style_targets[name], mask, o.scale_free, per_image=True)
                            for name, w in self.layer_weights.items())
                for share, style_targets, mask in zip(self.blend, self.style_targets, self.masks) if share)
        if o.tv_weight:
            terms["tv"] = o.tv_weight * TV[o.tv](x, per_image=True)
        if self.keep_in_range:
            terms["range"] = RANGE_WEIGHT * range_penalty(x, per_image=True)
        return terms

    def __call__(self, x: torch.Tensor, content: torch.Tensor | None = None) -> dict:
        """The terms averaged over the batch; `content` gives this call's own photos (feed-forward training).

        With `style_ramp`, the style term keeps its full value (so the history and the choice of the best
        image see the whole objective) while its gradient is scaled by `ramp_weight` of this evaluation."""
        targets = None if content is None else self.measure(content)
        terms = {name: value.mean() for name, value in self.per_image(x, targets).items()}
        weight = ramp_weight(self.evaluations, self.objective.style_ramp)
        if weight != 1 and "style" in terms:
            style = terms["style"].detach()
            terms["style"] = style + weight * (terms["style"] - style)  # the value exactly, the gradient × weight
        self.evaluations += 1
        return terms
