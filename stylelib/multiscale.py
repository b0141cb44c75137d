"""Coarse-to-fine (multi-scale) stylization: optimise small, upsample, continue at the next size.

At a small size the network's receptive fields cover a large part of the picture, so the coarse
level settles the large-scale arrangement of strokes cheaply; each finer level then only adds
detail, starting from the upsampled coarser result instead of from the photo, and sizes become
reachable whose single-scale run would take too long. Whether it also reaches a lower full-size loss
in the same time depends on giving each level enough steps: notebook 05 measures it (in the quick and laptop tiers,
with very short levels, single-scale won).
"""
import os

import torch

from . import runtime
from .errors import SettingsError
from .images import as_image
from .losses import gram_matrix
from .objective import CONTENT_LAYERS, STYLE_LAYERS
from .transfer import Result, stylize

__all__ = ["level_sizes", "stylize_multiscale", "time_limit", "bytes_per_pixel", "largest_size"]


def level_sizes(size: int, levels: int, factor: float = 2.0) -> list[int]:
    """Long sides from coarse to fine, each `factor` times the previous, ending at `size`."""
    if not isinstance(levels, int) or levels < 1:
        raise SettingsError(f"levels must be a whole number ≥ 1, got {levels!r}")
    sizes = [round(size / factor ** k) for k in reversed(range(levels))]
    if sizes[0] < 16:
        raise SettingsError(f"{levels} levels from {size} px make the coarsest {sizes[0]} px: use fewer levels (≥ 16 px)")
    return sizes


def stylize_multiscale(content, style, size: int | None = None, levels: int = 3, steps=None,
                       factor: float = 2.0, **settings) -> Result:
    """`stylize` at each size of `level_sizes`, each level starting from the previous result upsampled.

    `steps` is one count per level or a list (coarse to fine). The Result's history and seconds run
    on across levels (seconds from the very start); its image is the full-size one.
    """
    size = runtime.default("size", size)
    sizes = level_sizes(size, levels, factor)
    steps = runtime.default("level_steps", steps)
    steps = [steps] * levels if isinstance(steps, int) else list(steps)
    if len(steps) != levels:
        raise SettingsError(f"got {len(steps)} step counts for {levels} levels")
    photo = as_image(content, size)
    init, combined, elapsed = settings.pop("init", "content"), Result(image=photo), 0.0
    for level_size, level_steps in zip(sizes, steps):
        level = stylize(as_image(photo, level_size), style, size=level_size, steps=level_steps,
                        init=init, **settings)
        for name, values in level.history.items():
            combined.history.setdefault(name, []).extend(values)
        combined.seconds += [elapsed + s for s in level.seconds]
        elapsed = combined.seconds[-1] if combined.seconds else elapsed
        combined.image, combined.stopped, init = level.image, level.stopped, level.image
        if level.stopped:
            break
    return combined


def time_limit(seconds: float):
    """A `stylize` callback (use every=1) that stops the run once `seconds` have passed."""
    return lambda step, image, result: result.seconds[-1] >= seconds


def bytes_per_pixel(model, layers=(*STYLE_LAYERS, *CONTENT_LAYERS), probe: int = 64) -> float:
    """Memory that one forward pass to `layers` keeps for the backward pass, per input pixel.

    Counted exactly by hooking the tensors autograd saves (so it works on any device), plus the
    input and its gradient. Activations grow with the number of pixels, so this scales up."""
    device = next(model.parameters()).device
    x = torch.rand(1, 3, probe, probe, device=device, requires_grad=True)
    weights = {param.untyped_storage().data_ptr() for param in model.parameters()}
    seen = {}  # storage → bytes: views of one tensor (reshape, transpose) are counted once

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:  # the weights do not grow with the image
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        sum(gram_matrix(f).sum() for f in model(x, list(layers)).values())
    return (sum(seen.values()) + 2 * x.numel() * x.element_size()) / probe ** 2


def available_memory(device=None) -> int:
    """Free bytes on `device`: CUDA's own count, else the machine's available RAM."""
    device = runtime.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def largest_size(model, content=None, layers=(*STYLE_LAYERS, *CONTENT_LAYERS), fraction: float = 0.5,
                 memory: int | None = None) -> int:
    """The longest side (px) whose optimisation fits in `fraction` of the free memory.

    Peak use is about twice what the forward pass saves (gradients of the largest activations
    live next to it during the backward pass), hence the default half of the free memory."""
    memory = available_memory(next(model.parameters()).device) if memory is None else memory
    pixels = fraction * memory / bytes_per_pixel(model, layers)
    h, w = as_image(content, None).shape[-2:] if content is not None else (1, 1)
    return int((pixels * max(h, w) / min(h, w)) ** 0.5)
