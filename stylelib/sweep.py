"""A sweep of style weights run as one batch: N settings, one network pass per step for all of them.

Each image in the batch has its own loss, and the loop minimises their sum. The images never meet
inside VGG (no batch statistics), so the gradient of the sum with respect to image i is exactly the
gradient of image i's own loss. With Adam, whose update is computed pixel by pixel, the batched run
therefore follows the same path as N separate runs (up to rounding), in one pass instead of N.

L-BFGS would not: even with `max_iter=1` and no line search, its step direction comes from dot
products over the whole parameter tensor (the two-loop recursion's ρ, α, β, the curvature scale
s·y / y·y, and the first step's 1/‖g‖₁), so in a batch every image's step would depend on all the
others. The sweep therefore uses Adam; tests/test_sweep.py checks both statements.
"""
import torch

from . import runtime, speed
from .errors import SettingsError
from .features import VGGFeatures, vgg
from .losses import content_loss, gram_matrix, range_penalty, style_loss
from .settings import number, validate
from .transfer import CONTENT_LAYERS, DEFAULT_LR, RANGE_WEIGHT, STYLE_LAYERS, Result, _as_image, optimize

TERMS = ("content", "style", "range", "total")


def stylize_sweep(content, style, style_weights, *, size: int | None = None, steps: int | None = None,
                  content_weight: float = 1.0, content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                  lr: float | None = None, backbone: str = "auto", model: VGGFeatures | None = None,
                  device=None, progress: bool = True) -> list[Result]:
    """One stylization per entry of `style_weights`, optimised together as a batch with Adam.

    Returns a `Result` per weight, in order, each with its own best image and loss history (the
    times in `seconds` are those of the whole batch). Other settings are as in `stylize`.
    """
    if not isinstance(style_weights, (list, tuple)) or not style_weights:
        raise SettingsError(f"style_weights must be a non-empty list of numbers, got {style_weights!r}")
    weights = [number("style weight", w) for w in style_weights]
    size = runtime.pick(512, 128) if size is None else size
    steps = runtime.pick(300, 30) if steps is None else steps
    checked = validate(size=size, steps=steps, content_weight=content_weight, lr=lr)
    content_weight = checked["content_weight"]
    dev = runtime.device(device) if not isinstance(device, torch.device) else device
    model = (model or vgg(backbone, device=dev, verbose=False)).to(dev)
    content_layers, style_layers = model.check_layers(content_layers), model.check_layers(style_layers)
    min_side = model.min_side([*content_layers, *style_layers])

    content_image = _as_image(content, size, "content", min_side).to(dev)
    style_image = _as_image(style, size, "style", min_side).to(dev)
    with torch.no_grad():
        content_targets = model(content_image, content_layers)
        style_targets = {k: gram_matrix(v) for k, v in model(style_image, style_layers).items()}
    features = speed.feature_fn(model, dev)
    style_weight = torch.tensor(weights, device=dev)
    n = len(weights)
    best_loss = torch.full((n,), float("inf"), device=dev)
    best_image = content_image.expand(n, -1, -1, -1).clone()
    record = []

    def per_image(x):
        """Each image's terms as (N,) tensors, from the same loss functions as `stylize`."""
        feats = features(x, [*content_layers, *style_layers])
        one = lambda fn: torch.stack([fn(i) for i in range(n)])  # noqa: E731
        terms = {
            "content": content_weight * one(lambda i: sum(content_loss(feats[k][i:i + 1], content_targets[k])
                                                          for k in content_layers)),
            "style": style_weight * one(lambda i: style_loss({k: feats[k][i:i + 1] for k in style_layers}, style_targets)),
            "range": RANGE_WEIGHT * one(lambda i: range_penalty(x[i:i + 1])),
        }
        return terms

    def loss_fn(x):
        nonlocal best_loss, best_image
        terms = per_image(x)
        total = sum(terms.values())
        record.append(torch.stack([*terms.values(), total]).detach())
        better = total.detach() < best_loss  # kept on the device: no sync per step
        best_loss = torch.where(better, total.detach(), best_loss)
        best_image = torch.where(better[:, None, None, None], x.detach().clamp(0, 1), best_image)
        return {name: value.sum() for name, value in terms.items()}

    start = content_image.expand(n, -1, -1, -1).clone()
    batch = optimize(start, loss_fn, steps, "adam", DEFAULT_LR["adam"] if lr is None else lr,
                     progress=progress, desc=f"sweep of {n}")
    history = torch.stack(record[: batch.steps]).cpu() if batch.steps else torch.empty(0, len(TERMS), n)
    return [Result(image=best_image[i:i + 1].clone(),
                   history={term: history[:, t, i].tolist() for t, term in enumerate(TERMS)},
                   seconds=list(batch.seconds), stopped=batch.stopped)
            for i in range(n)]
