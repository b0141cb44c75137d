"""A sweep of style weights run as one batch: N settings, one network pass per step for all of them.

Each image in the batch has its own loss, and the loop minimises their sum. The images never meet
inside VGG (no batch statistics), so the gradient of the sum with respect to image i is exactly the
gradient of image i's own loss. With Adam, whose update is computed pixel by pixel, the batched run
therefore follows the same path as N separate runs (up to rounding), in one pass instead of N.

L-BFGS would not: even with `max_iter=1` and no line search, its step direction comes from dot
products over the whole parameter tensor (the two-loop recursion's ρ, α, β, the curvature scale
s·y / y·y, and the first step's 1/‖g‖₁), so in a batch every image's step would depend on all the
others. The sweep therefore uses Adam; tests/test_sweep.py checks both statements.

It lives in bench/, not in stylelib: only the benchmark (bench/sweep.py) and its test use it.
"""
import torch

from stylelib import precision, runtime
from stylelib.errors import SettingsError
from stylelib.features import vgg_for
from stylelib.images import image_for
from stylelib.objective import Objective
from stylelib.transfer import Result, optimize
from stylelib.validation import number, validate

TERMS = ("content", "style", "range", "total")


def stylize_sweep(content, style, style_weights, objective: Objective | None = None, *, size: int | None = None,
                  steps: int | None = None, lr: float | None = None, model=None, device=None,
                  progress: bool = True, **changes) -> list[Result]:
    """One stylization per entry of `style_weights` (β), optimised together as a batch with Adam.

    Returns a `Result` per weight, in order, each with its own best image and loss history (the
    times in `seconds` are those of the whole batch). `objective` and `changes` (Objective fields)
    are as in `stylize`; its style_weight is replaced by each entry of `style_weights`. `lr`: Adam's,
    stylelib.transfer.DEFAULT_LR["adam"] if None.
    """
    if not isinstance(style_weights, (list, tuple)) or not style_weights:
        raise SettingsError(f"style_weights must be a non-empty list of numbers, got {style_weights!r}")
    weights = [number("style weight", w) for w in style_weights]
    objective = (objective or Objective()).replace(**changes, style_weight=1.0)
    size, steps = runtime.default("size", size), runtime.default("steps", steps)
    validate(size=size, steps=steps, lr=lr)
    model, dev = vgg_for(model, device)
    min_side = model.min_side(model.check_layers([*objective.content_layers, *objective.style_layers]))
    content_image = image_for(content, size, "content", min_side).to(dev)
    style_image = image_for(style, round(size * objective.style_scale), "style", min_side).to(dev)
    loss = objective.loss(model, content_image, [style_image], features=precision.feature_fn(model, dev))
    style_weight = torch.tensor(weights, device=dev)
    n = len(weights)
    best_loss = torch.full((n,), float("inf"), device=dev)
    best_image = content_image.expand(n, -1, -1, -1).clone()
    record = []

    def loss_fn(x):
        """The sum of the images' own losses: each image's gradient is that of its own loss."""
        nonlocal best_loss, best_image
        terms = loss.per_image(x)
        terms["style"] = style_weight * terms["style"]
        total = sum(terms.values())
        record.append(torch.stack([terms["content"], terms["style"], terms["range"], total]).detach())
        better = total.detach() < best_loss  # kept on the device: no sync per step
        best_loss = torch.where(better, total.detach(), best_loss)
        best_image = torch.where(better[:, None, None, None], x.detach().clamp(0, 1), best_image)
        return {name: value.sum() for name, value in terms.items()}

    start = content_image.expand(n, -1, -1, -1).clone()
    batch = optimize(start, loss_fn, steps, "adam", lr, progress=progress)
    history = torch.stack(record[: batch.steps]).cpu() if batch.steps else torch.empty(0, len(TERMS), n)
    return [Result(image=best_image[i:i + 1].clone(),
                   history={term: history[:, t, i].tolist() for t, term in enumerate(TERMS)},
                   seconds=list(batch.seconds), stopped=batch.stopped)
            for i in range(n)]
